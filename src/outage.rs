//! Remembers a failed create for `failure_backoff`, so that during an outage each `get` for a
//! provisioning registry answers at once, the same way the first one did, without a request:
//! an outage costs seconds once, not every pull.
//!
//! State: `failures.json` (0600) in the config dir, one entry per registry key, written only
//! under the provisioning lock and read without it. It holds messages and times, never a
//! secret or an API key (only a hash of the settings a failure depended on). It is a cache: a
//! damaged or unwritable file is ignored (with a debug line), never an error. A failure applies
//! only while those settings are the same: `api_url`, `api_path`, the API key, the project, the
//! proxy variables and `SSL_CERT_FILE`/`SSL_CERT_DIR`. So applying the error's own fix (a
//! corrected key, a company CA) tries again at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::store::index::unix_now;

pub const FAILURES_FILE: &str = "failures.json";

/// One remembered failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// Unix seconds when it was recorded.
    pub at: u64,
    /// Unix seconds until which it is answered without a request.
    pub until: u64,
    /// The `api_url` that failed; a different one is tried at once.
    pub api_url: String,
    /// The configured project (none: discovered); a different one is tried at once, so that
    /// setting `DEEPGRAM_PROJECT_ID` after "sees N projects" works without waiting.
    #[serde(default)]
    pub project_id: Option<String>,
    /// A hash of the settings the failure depended on (see the module header); none: written
    /// by an earlier version, never applies.
    #[serde(default)]
    pub inputs: Option<String>,
    /// Answered as Docker's not-found with `message` as the hint (the API was unreachable),
    /// rather than as the error `message`.
    pub not_found: bool,
    pub message: String,
}

impl Remembered {
    /// Seconds since it was recorded, and seconds left.
    pub fn ages(&self) -> (u64, u64) {
        let now = unix_now();
        (now.saturating_sub(self.at), self.until.saturating_sub(now))
    }
}

fn path(config: &Config) -> PathBuf {
    config.dir.join(FAILURES_FILE)
}

fn read(config: &Config) -> BTreeMap<String, Remembered> {
    let path = path(config);
    match crate::files::read_optional(&path) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
            crate::debug!("ignoring {} ({err})", path.display());
            BTreeMap::new()
        }),
        Ok(None) => BTreeMap::new(),
        Err(err) => {
            crate::debug!("ignoring {} ({err})", path.display());
            BTreeMap::new()
        }
    }
}

fn write(config: &Config, entries: &BTreeMap<String, Remembered>) {
    let path = path(config);
    if let Err(err) = crate::files::write_private_json(&path, entries) {
        crate::debug!("cannot write {} ({err})", path.display());
    }
}

/// The failure remembered for `key`, if the back-off is on, has not run out, and the settings
/// it depended on are the same.
/// `inputs`: the hash of those settings now (`Session::reach_fingerprint`).
pub fn recall(config: &Config, inputs: &str, key: &str) -> Option<Remembered> {
    if config.failure_backoff.is_zero() {
        return None;
    }
    let entry = read(config).remove(key)?;
    let same = entry.api_url == config.api_url.as_str()
        && entry.project_id == config.project_id
        && entry.inputs.as_deref() == Some(inputs);
    if !same {
        crate::debug!("a remembered failure for {key} does not apply: the settings changed");
    }
    (same && unix_now() < entry.until).then_some(entry)
}

/// Records a failure for `key`. Call with the provisioning lock held.
pub fn remember(config: &Config, inputs: &str, key: &str, not_found: bool, message: &str) {
    if config.failure_backoff.is_zero() {
        return;
    }
    let now = unix_now();
    let mut entries = read(config);
    entries.retain(|_, entry| entry.until > now);
    entries.insert(
        key.to_string(),
        Remembered {
            at: now,
            until: now.saturating_add(config.failure_backoff.as_secs().max(1)),
            api_url: config.api_url.to_string(),
            project_id: config.project_id.clone(),
            inputs: Some(inputs.to_string()),
            not_found,
            message: message.to_string(),
        },
    );
    write(config, &entries);
}

/// Forgets `key` after a success. Call with the provisioning lock held.
pub fn forget(config: &Config, key: &str) {
    let mut entries = read(config);
    if entries.remove(key).is_some() {
        write(config, &entries);
    }
}

/// Forgets every remembered failure: `login` saved a new key, so try again at once.
pub fn clear(config: &Config) {
    let path = path(config);
    match std::fs::remove_file(&path) {
        Ok(()) => crate::debug!("removed {}", path.display()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => crate::debug!("cannot remove {} ({err})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(dir: &std::path::Path) -> Config {
        let mut config = Config::load_from(dir.to_path_buf()).unwrap();
        config.failure_backoff = Duration::from_secs(60);
        config
    }

    #[test]
    fn a_failure_is_recalled_for_its_registry_and_settings_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        assert_eq!(recall(&config, "h1", "quay.io"), None);
        remember(&config, "h1", "quay.io", true, "cannot reach");
        let entry = recall(&config, "h1", "quay.io").unwrap();
        assert!(entry.not_found && entry.message == "cannot reach");
        assert_eq!(recall(&config, "h1", "other.example"), None);
        assert_eq!(recall(&config, "h2", "quay.io"), None, "other settings");
        assert_eq!(
            crate::files::mode_of(&dir.path().join(FAILURES_FILE)),
            Some(0o600)
        );
        config.project_id = Some("p".into());
        assert_eq!(recall(&config, "h1", "quay.io"), None, "another project");
        config.project_id = None;
        config.api_url = crate::endpoint::ApiUrl::parse("http://127.0.0.1:1").unwrap();
        assert_eq!(recall(&config, "h1", "quay.io"), None, "another api_url");
    }

    #[test]
    fn zero_turns_it_off_and_success_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        remember(&config, "h", "quay.io", false, "boom");
        forget(&config, "quay.io");
        assert_eq!(recall(&config, "h", "quay.io"), None);
        remember(&config, "h", "quay.io", false, "boom");
        clear(&config);
        assert_eq!(recall(&config, "h", "quay.io"), None, "cleared");
        remember(&config, "h", "quay.io", false, "boom");
        config.failure_backoff = Duration::ZERO;
        assert_eq!(recall(&config, "h", "quay.io"), None);
    }

    #[test]
    fn a_damaged_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        std::fs::write(dir.path().join(FAILURES_FILE), "{not json").unwrap();
        assert_eq!(recall(&config, "h", "quay.io"), None);
        remember(&config, "h", "quay.io", false, "boom");
        assert!(recall(&config, "h", "quay.io").is_some());
    }
}
