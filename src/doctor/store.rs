//! Local state: the configuration, the store (backend, a keychain round trip, file modes, the
//! index, secrets left in the fallback file), housekeeping (unfinished creates, credentials to
//! delete, rotation) and the call log. Never reads a credential's secret; the only write is
//! the keychain probe item, removed at once.

use std::path::Path;

use super::Check;
use crate::config::{Config, Provision};
use crate::secret::Secret;
use crate::store::file::FILE_NAME as SECRETS_FILE;
use crate::store::index::Index;
use crate::store::keyring::KeyringBackend;
use crate::store::{BackendKind, SecretBackend, Slot, Store, StoreError};

const PROBE: &str = "doctor-probe.docker-credential-deepgram.invalid";

pub fn config_check(config: &Config) -> Check {
    let file = config.dir.join(crate::config::CONFIG_FILE);
    let source = if file.exists() {
        format!("{} and the environment parse", file.display())
    } else {
        format!("no {} (defaults and the environment)", file.display())
    };
    let provisioning = match config.provision {
        Provision::Auto => format!("provisioning registries: {}", config.registries.join(", ")),
        Provision::Never => "provisioning is off (provision = \"never\")".to_string(),
    };
    Check::ok(
        "config",
        format!("{source}; {provisioning}; API {}", config.api_url),
    )
}

/// The store checks, and the opened store for the checks that need it.
pub fn checks(config: &Config) -> (Vec<Check>, Option<Store>) {
    let mut checks = Vec::new();
    let store = match Store::open(config) {
        Ok(store) => store,
        Err(err) => {
            let fix = match &err {
                StoreError::Unavailable { .. } => format!(
                    "{}, or set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file (store = \"file\" in config.toml)",
                    crate::store::keyring::UNAVAILABLE_FIX
                ),
                StoreError::Locked { .. } => format!(
                    "{}; or set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file",
                    crate::store::keyring::LOCKED_FIX
                ),
                _ => "see the message; `docker-credential-deepgram doctor` again after the fix"
                    .to_string(),
            };
            checks.push(Check::fail("store", err.to_string(), fix));
            return (checks, None);
        }
    };
    checks.push(match store.backend_kind() {
        BackendKind::Keyring => keychain_round_trip(),
        BackendKind::File => file_store(config, &store),
    });
    checks.push(writable(config));
    checks.push(modes(config));
    checks.push(match store.index() {
        Ok(index) => Check::ok(
            "index",
            format!(
                "{} readable, {} credential(s) recorded",
                Index::path(&config.dir).display(),
                index.entries.len()
            ),
        ),
        Err(err) => Check::fail(
            "index",
            err.to_string(),
            "move the file aside; stored credentials stay in the keychain",
        ),
    });
    if store.backend_kind() == BackendKind::Keyring {
        checks.push(leftovers(&config.dir));
    }
    (checks, Some(store))
}

/// What to do when this process cannot reach the keychain that holds something: run in the
/// session that has it, or keep a new one in the file store this process uses.
pub const SESSION_FIX: &str = "run it in the session that holds the keychain (log in to it, or set DBUS_SESSION_BUS_ADDRESS to its bus, usually unix:path=/run/user/<uid>/bus)";

/// The file store: chosen, or the fallback of `auto` mode, which cannot use what the index
/// records in the keychain.
fn file_store(config: &Config, store: &Store) -> Check {
    let path = config.dir.join(SECRETS_FILE);
    let Some(reason) = store.unreachable_keychain() else {
        return Check::ok("store", format!("file store {} (chosen)", path.display()));
    };
    let in_keychain: Vec<String> = store
        .index()
        .map(|index| {
            index
                .entries
                .iter()
                .filter(|(_, entry)| entry.backend == BackendKind::Keyring.as_str())
                .map(|(key, _)| key.clone())
                .collect()
        })
        .unwrap_or_default();
    if in_keychain.is_empty() {
        return Check::ok(
            "store",
            format!(
                "file store {} (no keychain is reachable: {reason})",
                path.display()
            ),
        );
    }
    Check::fail(
        "store",
        format!(
            "the credentials for {} are in the keychain, which this process cannot reach ({reason})",
            in_keychain.join(", ")
        ),
        SESSION_FIX,
    )
}

/// The config directory and the lock files in it take writes: every `store`, `login` and first
/// pull needs them, and a read-only directory fails them all.
fn writable(config: &Config) -> Check {
    let dir = &config.dir;
    let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut explain = |path: &Path, err: std::io::Error| {
        problems.push(format!("cannot write {}: {err}", path.display()));
        fixes.push(match err.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem => format!(
                "{} is on a read-only file system: remount it read-write, or set DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR to a private directory on a writable one (then `docker-credential-deepgram login` there)",
                dir.display()
            ),
            _ => format!(
                "make {} writable by you (`ls -ld` shows its owner and mode; `lsattr` shows an immutable flag, `chattr -i` clears it)",
                path.display()
            ),
        });
    };
    match crate::files::open_private(&probe) {
        Ok(file) => {
            drop(file);
            let _ = std::fs::remove_file(&probe);
            for lock in [crate::credential::PROVISION_LOCK, crate::store::STORE_LOCK] {
                let path = dir.join(lock);
                if let Err(err) = crate::files::open_private(&path) {
                    explain(&path, err);
                }
            }
        }
        Err(err) => explain(dir, err),
    }
    if problems.is_empty() {
        Check::ok(
            "config dir",
            format!("{} and its lock files take writes", dir.display()),
        )
    } else {
        fixes.dedup();
        Check::fail("config dir", problems.join("; "), fixes.join("; "))
    }
}

/// Write, read back and delete a probe item: proves the keychain is reachable and unlocked.
fn keychain_round_trip() -> Check {
    let fix = format!(
        "{}; or set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file",
        crate::store::keyring::LOCKED_FIX
    );
    let fix = fix.as_str();
    let keychain = match KeyringBackend::connect() {
        Ok(keychain) => keychain,
        Err(err) => return Check::fail("store", err.to_string(), fix),
    };
    let slot = Slot::Registry(PROBE.to_string());
    let value = Secret::new("probe");
    let result = keychain.write(&slot, &value).and_then(|()| {
        let read = keychain.read(&slot);
        let removed = keychain.remove(&slot);
        let read = read?;
        removed.map(|_| read)
    });
    match result {
        Ok(Some(read)) if read == value => Check::ok(
            "store",
            "keychain (Secret Service): reachable and unlocked; a probe item was written, read and deleted",
        ),
        Ok(_) => Check::fail(
            "store",
            "the keychain accepted a probe item but did not return it",
            fix,
        ),
        Err(err) => Check::fail("store", err.to_string(), fix),
    }
}

/// Every file with anything sensitive 0600 (fail), the config directory 0700 (warn: its files
/// are private on their own).
fn modes(config: &Config) -> Check {
    let open = |path: &Path| crate::files::mode_of(path).filter(|mode| mode & 0o077 != 0);
    let mut files = vec![config.dir.join(SECRETS_FILE), Index::path(&config.dir)];
    files.extend(config.log_file.clone());
    let wrong: Vec<String> = files
        .iter()
        .filter_map(|path| {
            open(path).map(|mode| format!("{} is {mode:04o}, not 0600", path.display()))
        })
        .collect();
    let dir = config.dir.display();
    if !wrong.is_empty() {
        return Check::fail(
            "file modes",
            wrong.join("; "),
            format!("chmod 600 the named files (and chmod 700 {dir})"),
        );
    }
    match open(&config.dir) {
        Some(mode) => Check::warn(
            "file modes",
            format!("{dir} is {mode:04o}, not 0700 (its files are 0600)"),
            format!("chmod 700 {dir}"),
        ),
        None => Check::ok("file modes", format!("{dir} and its files are private")),
    }
}

/// Secrets an earlier fallback left in the 0600 file while a keychain is in use.
fn leftovers(dir: &Path) -> Check {
    let path = dir.join(SECRETS_FILE);
    let count = match crate::files::read_optional(&path) {
        Ok(None) => 0,
        Ok(Some(bytes)) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) => value
                .get("secrets")
                .and_then(|s| s.as_object().map(|s| s.len()))
                .unwrap_or(0),
            Err(err) => {
                return Check::warn(
                    "fallback file",
                    format!(
                        "cannot tell whether secrets are left in {}, because it is not valid JSON ({err})",
                        path.display()
                    ),
                    format!("move {} aside; it is never overwritten", path.display()),
                );
            }
        },
        Err(err) => {
            return Check::warn(
                "fallback file",
                format!(
                    "cannot tell whether secrets are left in {}, because it cannot be read ({err})",
                    path.display()
                ),
                "check its owner and mode (`ls -l`)",
            );
        }
    };
    if count == 0 {
        Check::ok("fallback file", "no secret left in the file store")
    } else {
        Check::warn(
            "fallback file",
            format!(
                "{} still holds {count} secret(s) from a time without a keychain; they are used, but sit in a file",
                path.display()
            ),
            "erase and re-store them (`docker-credential-deepgram erase`, then pull again), then delete the file",
        )
    }
}

pub fn housekeeping(config: &Config, store: &Store) -> Vec<Check> {
    let mut checks = Vec::new();
    match store.index() {
        Ok(index) => {
            let orphans: Vec<String> = index
                .possible_orphans()
                .map(|marker| {
                    format!(
                        "{} (project {}, credential {})",
                        marker.key,
                        marker.project_id,
                        crate::credential::orphan_name(marker)
                    )
                })
                .collect();
            checks.push(if orphans.is_empty() {
                Check::ok("unfinished creates", "none")
            } else {
                Check::warn(
                    "unfinished creates",
                    format!(
                        "a create started and its secret was never stored for {}: it may have left an unused credential",
                        orphans.join(", ")
                    ),
                    "look for that credential in the Deepgram Console (Self-Hosted > Distribution Credentials) and delete it if present",
                )
            });
            checks.push(if index.intents.is_empty() {
                Check::ok("interrupted writes", "none")
            } else {
                let keys: Vec<&str> = index.intents.iter().map(|i| i.key()).collect();
                Check::warn(
                    "interrupted writes",
                    format!(
                        "a store or erase for {} was interrupted and opening the store did not finish it",
                        keys.join(", ")
                    ),
                    "fix what the store check reports, then run doctor again: opening the store finishes or undoes it",
                )
            });
            checks.push(to_delete(&index));
            checks.push(rotation(config, &index));
        }
        Err(_) => checks.push(Check::skip(
            "unfinished creates",
            "the index is not readable: see the index check",
        )),
    }
    checks
}

/// Old credentials a `rotate` replaced but could not delete remotely.
fn to_delete(index: &Index) -> Check {
    let now = crate::store::index::unix_now();
    // A credential within its grace period (rotate_grace) is still meant to answer for its
    // copies: `prune` leaves it, so it is no reason to run `prune`.
    let (retiring, due): (Vec<_>, Vec<_>) = index
        .to_delete
        .iter()
        .filter(|old| !crate::credential::retire::is_current(index, old))
        .partition(|old| old.is_retiring(now));
    let retiring: Vec<String> = retiring
        .iter()
        .map(|old| {
            format!(
                "{} (was {}) until {}",
                old.id,
                old.key,
                old.delete_after
                    .map(crate::rfc3339::format)
                    .unwrap_or_default()
            )
        })
        .collect();
    let retiring = if retiring.is_empty() {
        String::new()
    } else {
        format!(
            "retiring (live for their copies until their grace ends, then deleted): {}",
            retiring.join("; ")
        )
    };
    if due.is_empty() {
        return Check::ok(
            "to delete",
            if retiring.is_empty() {
                "none".to_string()
            } else {
                retiring
            },
        );
    }
    let listed: Vec<String> = due
        .iter()
        .map(|old| {
            format!(
                "{} (was {}, project {}: {})",
                old.id, old.key, old.project_id, old.reason
            )
        })
        .collect();
    let mut detail = format!(
        "replaced credentials still exist in the project: {}",
        listed.join("; ")
    );
    if !retiring.is_empty() {
        detail.push_str(&format!("; {retiring}"));
    }
    Check::warn(
        "to delete",
        detail,
        "run `docker-credential-deepgram prune` to delete them",
    )
}

/// Credentials this install created that are older than `rotate_after` (by the API's
/// `created`): the next `get` rotates them.
fn rotation(config: &Config, index: &Index) -> Check {
    let Some(max_age) = config.rotate_after else {
        return Check::skip("rotation", "rotation is not configured");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let old: Vec<String> = index
        .entries
        .iter()
        .filter_map(|(key, entry)| {
            let meta = entry.provisioned.as_ref()?;
            let created = crate::rfc3339::parse(meta.created.as_deref()?)?;
            let age = now.saturating_sub(created);
            (age >= max_age.as_secs()).then(|| {
                format!(
                    "{key} (credential {}, {} old)",
                    meta.id,
                    crate::duration::format(std::time::Duration::from_secs(age))
                )
            })
        })
        .collect();
    let limit = crate::duration::format(max_age);
    if old.is_empty() {
        Check::ok(
            "rotation",
            format!("every credential this install created is younger than rotate_after ({limit})"),
        )
    } else {
        Check::warn(
            "rotation",
            format!("older than rotate_after ({limit}): {}", old.join(", ")),
            "the next pull rotates it, or run `docker-credential-deepgram rotate --registry R` now",
        )
    }
}

pub fn call_log(config: &Config) -> Check {
    let Some(path) = crate::calllog::path().or_else(|| config.log_file.clone()) else {
        return Check::skip(
            "call log",
            "no call log (set DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE or log_file to see who calls the helper)",
        );
    };
    match crate::calllog::tail(&path, 5) {
        Ok(lines) if lines.is_empty() => Check::ok(
            "call log",
            format!(
                "{} is empty: no client has called the helper yet",
                path.display()
            ),
        ),
        Ok(lines) => Check::ok(
            "call log",
            format!("{}, last calls:\n{}", path.display(), lines.join("\n")),
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                // The helper never creates the log's directory: nothing can ever be logged.
                Some(dir) if !dir.is_dir() => Check::warn(
                    "call log",
                    format!(
                        "{} does not exist, and cannot tell whether a client called the helper, because its directory {} does not exist either (the helper does not create it)",
                        path.display(),
                        dir.display()
                    ),
                    format!(
                        "create {} (`mkdir -p`), or point log_file elsewhere",
                        dir.display()
                    ),
                ),
                _ => Check::ok(
                    "call log",
                    format!(
                        "{} does not exist yet: no client has called the helper since it was set",
                        path.display()
                    ),
                ),
            }
        }
        Err(err) => Check::warn(
            "call log",
            format!("cannot read {}: {err}", path.display()),
            "check the file's owner and mode",
        ),
    }
}
