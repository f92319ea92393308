//! Cross-process exclusive locks on files, with a bounded wait that says what it waits for.
//!
//! Built on std's `File::try_lock` (flock on unix, LockFileEx on Windows). The kernel drops
//! the lock when its holder exits for any reason, SIGKILL included, so a crashed helper never
//! blocks the next one.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "timed out after {} waiting for another docker-credential-deepgram process that is {what} (lock {}): wait for it to finish, or raise lock_timeout",
        crate::duration::format(*waited),
        path.display()
    )]
    Timeout {
        waited: Duration,
        what: String,
        path: PathBuf,
    },
    #[error("cannot open lock file {}: {source}{}", path.display(), open_fix(source, path))]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to do about a lock file that cannot be opened: the common causes, named.
fn open_fix(err: &std::io::Error, path: &Path) -> String {
    let dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    if err.kind() == std::io::ErrorKind::ReadOnlyFilesystem {
        format!(
            ": {dir} is on a read-only file system: remount it read-write, or set {} to a private directory on a writable one",
            crate::env::CONFIG_DIR
        )
    } else if err.kind() == std::io::ErrorKind::PermissionDenied {
        format!(
            ": make {dir} and the lock file writable by you (check their owner and mode with `ls -ld`, and `lsattr` for an immutable flag)"
        )
    } else {
        String::new()
    }
}

/// Held while alive; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Waits up to `timeout` for the exclusive lock on `path` (created 0600, in a 0700
    /// directory, if missing). `what` finishes the sentence "another process that is …" in
    /// the timeout message.
    pub fn acquire(path: &Path, timeout: Duration, what: &str) -> Result<FileLock, LockError> {
        let open = || {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::ensure_private_dir(dir)?;
            }
            crate::files::open_private(path)
        };
        let file = open().map_err(|source| LockError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(source)) => {
                    return Err(LockError::Open {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(LockError::Timeout {
                    waited,
                    what: what.to_string(),
                    path: path.to_path_buf(),
                });
            }
            if waited > Duration::from_millis(500) {
                crate::debug!("still waiting for {} ({what})", path.display());
            }
            std::thread::sleep(pause.min(timeout.saturating_sub(waited)));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_times_out_with_a_message_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = FileLock::acquire(&path, Duration::from_secs(1), "testing").unwrap();
        let err = FileLock::acquire(&path, Duration::from_millis(50), "creating a credential")
            .unwrap_err()
            .to_string();
        assert!(err.contains("that is creating a credential"), "{err}");
        assert!(err.contains("lock_timeout"), "{err}");
        drop(first);
        FileLock::acquire(&path, Duration::from_millis(50), "testing").unwrap();
    }

    #[test]
    fn a_missing_directory_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/x.lock");
        FileLock::acquire(&path, Duration::from_millis(50), "testing").unwrap();
        #[cfg(unix)]
        assert_eq!(
            crate::files::mode_of(&dir.path().join("state")),
            Some(0o700)
        );
    }
}
