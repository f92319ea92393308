//! The JSON the store reads back from disk and from the keychain: `credentials.json` (the
//! 0600 file backend), `index.json` (the non-secret index) and a keychain item's record.
//!
//! Invariants: no panic; a damaged file is an error naming the file, on one line, and is never
//! treated as empty; a file that loads can be updated without losing the other slots, and
//! the index saves and loads back equal; a bad keychain item never echoes its contents.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use docker_credential_deepgram::fuzzing;
use docker_credential_deepgram::secret::Secret;
use docker_credential_deepgram::store::file::{self, FileBackend};
use docker_credential_deepgram::store::index::{self, Index};
use docker_credential_deepgram::store::{SecretBackend, Slot};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// One private directory per process, in memory when /dev/shm exists (the index save fsyncs).
fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        }
    })
    .path()
}

fuzz_target!(|data: &[u8]| {
    file_backend(data);
    index(data);
    if let Ok(text) = std::str::from_utf8(data) {
        keychain_item(text);
    }
});

fn file_backend(data: &[u8]) {
    let dir = dir();
    std::fs::write(dir.join(file::FILE_NAME), data).unwrap();
    let backend = FileBackend::new(dir);
    let slot = Slot::Registry("quay.io".into());
    match backend.read(&slot) {
        Ok(_) => {
            let before = secrets(dir);
            backend.write(&slot, &Secret::new("fuzz")).unwrap();
            assert_eq!(backend.read(&slot).unwrap().unwrap().expose(), "fuzz");
            let mut after = secrets(dir);
            after.remove(&slot.name());
            let mut before = before;
            before.remove(&slot.name());
            assert_eq!(after, before, "a write kept every other slot");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(file::FILE_NAME), "{message}");
            assert!(!message.contains('\n'), "{message}");
            // and a write must not clobber the damaged file
            assert!(backend.write(&slot, &Secret::new("fuzz")).is_err());
            assert_eq!(std::fs::read(dir.join(file::FILE_NAME)).unwrap(), data);
        }
    }
}

/// The `secrets` object of the file on disk, as plain JSON (last duplicate key wins, as in
/// the backend's own map).
fn secrets(dir: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read(dir.join(file::FILE_NAME)).unwrap();
    let value: Value = serde_json::from_slice(&text).unwrap();
    match value.get("secrets") {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    }
}

fn index(data: &[u8]) {
    let dir = dir();
    std::fs::write(Index::path(dir), data).unwrap();
    match Index::load(dir) {
        Ok(index) => {
            index.save(dir).unwrap();
            assert_eq!(Index::load(dir).unwrap(), index, "save and load round-trip");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(index::FILE_NAME), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}

fn keychain_item(text: &str) {
    if let Err(err) = fuzzing::keychain_item(text) {
        // The message is fixed: the item's contents (a secret) never reach it.
        let fixed = fuzzing::keychain_item("").unwrap_err().to_string();
        assert_eq!(err.to_string(), fixed);
    }
}
