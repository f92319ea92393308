//! Opt-in diagnostics on stderr (`DOCKER_CREDENTIAL_DEEPGRAM_LOG` = `off` | `warn` | `debug`).
//!
//! Never writes to stdout (that is the protocol's channel) and never receives a secret: the
//! [`crate::secret::Secret`] wrapper has no `Display`, so it cannot be formatted into a message.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off = 0,
    Warn = 1,
    Debug = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

/// Reads the level from the environment. An unknown value keeps `warn` and says so.
pub fn init_from_env() {
    let Some(value) = crate::env::var(crate::env::LOG) else {
        return;
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "quiet" => set_level(Level::Off),
        "warn" | "warning" => set_level(Level::Warn),
        "debug" | "trace" => set_level(Level::Debug),
        other => warn(format_args!(
            "ignoring {}={other:?}: use off, warn or debug",
            crate::env::LOG
        )),
    }
}

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level as u8
}

pub fn warn(message: std::fmt::Arguments<'_>) {
    if enabled(Level::Warn) {
        eprintln!("docker-credential-deepgram: warning: {message}");
    }
}

/// A `hint:` line saying what to do: at most one per process, and none with logging `off`.
pub fn hint(message: std::fmt::Arguments<'_>) {
    static SHOWN: AtomicBool = AtomicBool::new(false);
    if enabled(Level::Warn) && !SHOWN.swap(true, Ordering::Relaxed) {
        eprintln!("docker-credential-deepgram: hint: {message}");
    }
}

pub fn debug(message: std::fmt::Arguments<'_>) {
    if enabled(Level::Debug) {
        eprintln!("docker-credential-deepgram: debug: {message}");
    }
}

/// `debug!("which key: {key}")`: formatted only when debug logging is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Debug) {
            $crate::log::debug(format_args!($($arg)*));
        }
    };
}

/// `warn!("...")`: shown unless logging is `off`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log::warn(format_args!($($arg)*))
    };
}
