//! The call log: one line per invocation, for "who asked me what" (`DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE`
//! or config key `log_file`).
//!
//! A line holds the time (RFC 3339, UTC), the pid, the calling program (the parent process's
//! name: `docker`, `podman`, `skopeo`, `kubelet`...), the command, the canonical server, the
//! outcome (`hit`, `created`, `waited`, `healed`, `rotated`: `credential::How`; `not-found`,
//! `ok`, or `error: <kind>` with the error's own kind) and the duration in ms.
//! Promises: never a secret or an API key (only the values above are ever written); the file is
//! created 0600; each line is built whole and written with one `write` on an `O_APPEND`
//! descriptor, so parallel helpers never interleave. A log that cannot be written is a warning
//! on stderr, never a failed `get`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::Error;
use crate::store::index::unix_now;

/// What the running command learnt that its line should show; filled in by the command.
#[derive(Debug, Default)]
pub struct Call {
    /// The canonical server this invocation is about.
    pub server: Option<String>,
    /// How a successful credential answer was made (`hit`, `created`, `waited`, `healed`,
    /// `rotated`: `credential::How`).
    pub outcome: Option<&'static str>,
}

/// The log file: the environment variable, else `log_file` in `config.toml`.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = crate::env::var(crate::env::LOG_FILE) {
        let path = PathBuf::from(path);
        if path.is_absolute() {
            return Some(path);
        }
        let dir = crate::config::config_dir().ok()?;
        return Some(crate::config::resolve_log_file(&dir, path));
    }
    crate::config::Config::load().ok()?.log_file
}

/// Appends this invocation's line, if a log is configured.
pub fn record(args: &[String], started: Instant, call: &Call, result: &Result<(), Error>) {
    let Some(path) = path() else {
        return;
    };
    let outcome = match result {
        Ok(()) => call.outcome.unwrap_or("ok").to_string(),
        Err(Error::Help(_)) => "ok".to_string(),
        Err(Error::NotFound { .. }) => "not-found".to_string(),
        Err(err) => format!("error: {}", error_kind(err)),
    };
    let line = Line {
        unix_seconds: unix_now(),
        pid: std::process::id(),
        caller: caller(),
        command: args.first().map(String::as_str).unwrap_or(""),
        server: call.server.as_deref().unwrap_or("-"),
        outcome: &outcome,
        duration_ms: started.elapsed().as_millis(),
    }
    .render();
    if let Err(err) = append(&path, &line) {
        crate::warn!("cannot write the call log {}: {err}", path.display());
    }
}

/// The kind of an error, one word, for the log.
fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::NotFound { .. } => "not-found",
        Error::Usage(_) | Error::Cli(_) => "usage",
        Error::Protocol(_) => "protocol",
        Error::Config(_) => "config",
        Error::Store(_) | Error::Put(_) => "store",
        Error::Credential(err) | Error::Failed { source: err, .. } => err.kind(),
        Error::Api(_) => "api",
        Error::Command { kind, .. } => kind.as_str(),
        Error::Help(_) => "help",
        Error::Output(_) => "output",
    }
}

struct Line<'a> {
    unix_seconds: u64,
    pid: u32,
    caller: String,
    command: &'a str,
    server: &'a str,
    outcome: &'a str,
    duration_ms: u128,
}

impl Line<'_> {
    fn render(&self) -> String {
        format!(
            "{} pid={} caller={} command={} server={} outcome={} duration_ms={}\n",
            crate::rfc3339::format(self.unix_seconds),
            self.pid,
            field(&self.caller),
            field(self.command),
            field(self.server),
            field(self.outcome),
            self.duration_ms
        )
    }
}

/// One value: quoted when it holds a space, control characters and quotes dropped, bounded,
/// so that whatever a client sent stays on one line.
fn field(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    if clean.is_empty() {
        "-".to_string()
    } else if clean.contains(' ') {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// One `write` on an append-only descriptor; the file is created 0600.
pub fn append(path: &Path, line: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(line.as_bytes())
}

/// The last `count` lines of the log (for `doctor`).
pub fn tail(path: &Path, count: usize) -> std::io::Result<Vec<String>> {
    use std::io::{Read, Seek, SeekFrom};
    // Checked before opening: opening a FIFO blocks, and a device never ends.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    // Only the end: a log that grew for months is not read whole to show a few lines.
    let start = metadata.len().saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // cut by the window: not a whole line
    }
    let first = lines.len().saturating_sub(count);
    Ok(lines[first..].iter().map(|l| l.to_string()).collect())
}

/// How much of the log's end [`tail`] reads: far more than a few lines ever take.
const TAIL_BYTES: u64 = 64 * 1024;

/// The parent process's name (`/proc/<ppid>/comm` on Linux), else `unknown`.
fn caller() -> String {
    #[cfg(unix)]
    {
        let ppid = std::os::unix::process::parent_id();
        if let Ok(name) = std::fs::read_to_string(format!("/proc/{ppid}/comm")) {
            let name = name.trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_reads_only_the_end_of_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.log");
        let mut text = String::new();
        for n in 0..20_000 {
            text.push_str(&format!(
                "line {n} with some padding to make the file long\n"
            ));
        }
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() as u64 > 10 * TAIL_BYTES);
        assert_eq!(
            tail(&path, 2).unwrap(),
            [
                "line 19998 with some padding to make the file long",
                "line 19999 with some padding to make the file long"
            ]
        );
        assert!(tail(dir.path(), 2).is_err(), "a directory is refused");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo reads the path we pass.
            assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
            assert!(
                tail(&fifo, 2).is_err(),
                "a FIFO is refused, without blocking"
            );
        }
    }

    #[test]
    fn a_line_is_one_line_whatever_the_server_holds() {
        let line = Line {
            unix_seconds: 0,
            pid: 7,
            caller: "docker".into(),
            command: "get",
            server: "evil\nhost \"x\"",
            outcome: "error: store",
            duration_ms: 12,
        }
        .render();
        assert_eq!(
            line,
            "1970-01-01T00:00:00Z pid=7 caller=docker command=get server=\"evilhost x\" outcome=\"error: store\" duration_ms=12\n"
        );
    }

    #[test]
    fn the_log_is_created_private_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.log");
        append(&path, "a\n").unwrap();
        append(&path, "b\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
        assert_eq!(crate::files::mode_of(&path), Some(0o600));
        assert_eq!(tail(&path, 1).unwrap(), ["b"]);
    }
}
