//! Private files: 0700 directories, 0600 files, written atomically, and the checks that a
//! directory or file we are about to trust belongs to us (or root) and that nobody else can
//! write it.
//!
//! Every file that holds something sensitive is written here: a temp file in the same
//! directory (created with its final mode, so it is never world-readable even for an
//! instant), fsync, rename over the target, fsync of the directory. A crash leaves either the
//! old file or the new one, never half of one. A kill between creating the temp file and the
//! rename leaves the temp file (0600, possibly holding secrets): temp names carry a random
//! suffix, so a leftover never blocks a later write (a reused pid in a container), and
//! [`remove_stale_temps`] deletes leftovers; call it only while holding the lock that every
//! writer of that file holds, so that no live writer's temp file is taken away.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode for files that hold secrets or private state.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode for directories that hold them.
pub const PRIVATE_DIR: u32 = 0o700;

/// Creates `dir` (and parents) if missing; a directory we create is 0700.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR);
    }
    builder.create(dir)
}

/// Why a directory or file that steers the helper is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{}", .0)]
    Io(io::Error),
    #[error(
        "{path} is not a directory: move it aside, or set {} to a directory",
        crate::env::CONFIG_DIR
    )]
    NotADirectory { path: PathBuf },
    #[error(
        "{path} belongs to another user (uid {uid}){}",
        if *.is_dir {
            format!(": run as that user (not with sudo), or set {} to a directory of your own", crate::env::CONFIG_DIR)
        } else {
            ": remove it, or make it yours with chown".to_string()
        }
    )]
    OtherOwner {
        path: PathBuf,
        uid: u32,
        is_dir: bool,
    },
    #[error("{path} can be changed by other users (mode {mode:04o}): run `chmod go-w {path}`")]
    Writable { path: PathBuf, mode: u32 },
}

/// Checks a directory the helper keeps private state in, before anything in it is trusted:
/// missing is fine (it is created 0700); ours with any group or other bits is tightened to 0700
/// with one warning (the next run finds it private); root's is trusted unless others can write
/// it; another user's is refused (the kubelet runs us as root: a user must not steer it).
/// One `stat`.
pub fn check_private_dir(dir: &Path) -> Result<(), TrustError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match fs::metadata(dir) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(TrustError::Io(err)),
        };
        if !meta.is_dir() {
            return Err(TrustError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let mode = meta.mode() & 0o7777;
        let writable = TrustError::Writable {
            path: dir.to_path_buf(),
            mode,
        };
        if meta.uid() == effective_uid() {
            if mode & 0o077 != 0 {
                match fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR)) {
                    Ok(()) => crate::warn!(
                        "{} was mode {mode:04o}; made it 0700, as it holds credentials",
                        dir.display()
                    ),
                    Err(_) if mode & 0o022 != 0 => return Err(writable),
                    Err(_) => {}
                }
            }
        } else if meta.uid() == 0 {
            if mode & 0o022 != 0 {
                return Err(writable);
            }
        } else {
            return Err(TrustError::OtherOwner {
                path: dir.to_path_buf(),
                uid: meta.uid(),
                is_dir: true,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a file that steers the helper (`config.toml`), `None` when it does not exist; refused
/// when it belongs to another user than us or root, or others can write it. The checks use the
/// open file, so they apply to exactly the bytes read.
pub fn read_trusted(path: &Path) -> Result<Option<Vec<u8>>, TrustError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(TrustError::Io(err)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().map_err(TrustError::Io)?;
        let mode = meta.mode() & 0o7777;
        if meta.uid() != effective_uid() && meta.uid() != 0 {
            return Err(TrustError::OtherOwner {
                path: path.to_path_buf(),
                uid: meta.uid(),
                is_dir: false,
            });
        }
        if mode & 0o022 != 0 {
            return Err(TrustError::Writable {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes).map_err(TrustError::Io)?;
    Ok(Some(bytes))
}

/// The user this process acts as.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whose a file should be after we rewrite or create it: `Some((uid, gid))` only when we run as
/// root (`sudo configure`), taken from the file, else from its nearest existing ancestor, so a
/// user's file stays theirs. `None`: leave ownership to the kernel (we are that user).
pub fn owner_for(path: &Path) -> Option<(u32, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if effective_uid() != 0 {
            return None;
        }
        path.ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .find_map(|p| fs::metadata(p).ok())
            .map(|meta| (meta.uid(), meta.gid()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Gives `path` to `owner` (see [`owner_for`]); nothing to do for `None`.
pub fn give_to(path: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    #[cfg(not(unix))]
    let _ = (path, owner);
    Ok(())
}

/// Creates `dir` and its missing parents 0700; run as root, each new directory gets the owner
/// and group of its parent (a client's `~/.config/containers` stays the user's).
pub fn create_dirs_like_parent(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    for new in missing.into_iter().rev() {
        let owner = new.parent().and_then(owner_for);
        #[cfg_attr(not(unix), allow(unused_mut))] // only unix sets a mode
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(PRIVATE_DIR);
        }
        match builder.create(new) {
            Ok(()) => give_to(new, owner)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Reads a file, `None` when it does not exist.
pub fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Opens (creating it 0600 if needed) a file for reading and writing, e.g. a lock file.
pub fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE);
    }
    options.open(path)
}

/// How many temp names to try before giving up: a clash needs the same pid and 12 random hex
/// digits, so the second try always succeeds in practice.
const TEMP_ATTEMPTS: u32 = 8;

/// Replaces `path` with `bytes` atomically; the new file has `mode` (unix permission bits).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_string_lossy()
        .into_owned();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let (temp, mut file) = {
        let mut attempt = 0;
        loop {
            let temp = dir.join(format!(
                "{}{}.{}.tmp",
                temp_prefix(&name),
                std::process::id(),
                crate::tag::random_hex(12)
            ));
            match options.open(&temp) {
                Ok(file) => break (temp, file),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    if attempt >= TEMP_ATTEMPTS {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    };
    let result = (|| {
        // `mode` is filtered by the umask at creation; set it exactly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    drop(file);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Temp files of `name` are `.<name>.<pid>.<random>.tmp`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.")
}

/// The temp files an interrupted [`write_atomic`] of `path` left behind (or a live writer is
/// using right now: only the caller's lock tells the two apart).
pub fn temps_of(path: &Path) -> Vec<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return Vec::new();
    };
    let prefix = temp_prefix(&name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            file_name.starts_with(&prefix) && file_name.ends_with(".tmp")
        })
        .map(|entry| entry.path())
        .collect()
}

/// Deletes what [`temps_of`] finds; returns how many were removed. Only while holding the
/// lock every writer of `path` holds.
pub fn remove_stale_temps(path: &Path) -> usize {
    temps_of(path)
        .into_iter()
        .filter(|temp| fs::remove_file(temp).is_ok())
        .count()
}

/// Best effort: makes the rename durable. Not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Writes `value` as pretty JSON with a final newline to a 0600 file (atomically), creating
/// its directory 0700 if needed: the index, the file store, configure's state.
pub fn write_private_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_private_dir(dir)?;
    }
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, PRIVATE_FILE)
}

/// The unix permission bits of a file, if it exists (always `None` elsewhere).
pub fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_with_the_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        write_atomic(&path, b"one", PRIVATE_FILE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", PRIVATE_FILE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        assert_eq!(mode_of(&path), Some(0o600));
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn a_leftover_temp_file_never_blocks_a_write_and_is_swept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        // what a SIGKILL between create and rename leaves, under every name the old scheme
        // (pid and a counter from 0) would pick for this process
        for n in 0..4 {
            let leftover = dir
                .path()
                .join(format!(".credentials.json.{}.{n}.tmp", std::process::id()));
            fs::write(&leftover, "old secret").unwrap();
        }
        fs::write(dir.path().join(".other.json.1.2.tmp"), "not ours").unwrap();
        write_atomic(&path, b"new", PRIVATE_FILE).unwrap();
        write_atomic(&path, b"newer", PRIVATE_FILE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        assert_eq!(temps_of(&path).len(), 4);
        assert_eq!(remove_stale_temps(&path), 4);
        assert!(temps_of(&path).is_empty());
        assert!(
            dir.path().join(".other.json.1.2.tmp").exists(),
            "only this file's temps"
        );
    }

    #[test]
    fn private_dir_is_0700() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        ensure_private_dir(&nested).unwrap();
        #[cfg(unix)]
        assert_eq!(mode_of(&nested), Some(0o700));
    }

    #[test]
    fn read_optional_distinguishes_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("nope")).unwrap(), None);
    }
}
