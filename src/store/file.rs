//! The file backend: one 0600 JSON file, for machines without a reachable keychain
//! (headless servers, SSH without a session bus, Kubernetes nodes).
//!
//! The file is the only place this backend puts a secret. Reads need no lock (writes replace
//! the file atomically); writes are read-modify-write under the store lock that
//! [`super::Store`] holds, so parallel helpers never lose each other's updates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BackendKind, SecretBackend, Slot, StoreError};
use crate::files;
use crate::secret::Secret;

pub const FILE_NAME: &str = "credentials.json";
const VERSION: u32 = 1;

pub struct FileBackend {
    path: PathBuf,
}

#[derive(Serialize, Deserialize, Default)]
struct Contents {
    version: u32,
    /// Slot name → value (a credential record, or the API key).
    secrets: BTreeMap<String, Secret>,
}

impl FileBackend {
    pub fn new(dir: &Path) -> FileBackend {
        FileBackend {
            path: dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    fn load(&self) -> Result<Contents, StoreError> {
        let Some(bytes) = files::read_optional(&self.path).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })?
        else {
            return Ok(Contents {
                version: VERSION,
                ..Contents::default()
            });
        };
        let contents: Contents =
            serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt {
                path: self.path.clone(),
                detail: err.to_string(),
            })?;
        if contents.version != VERSION {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("unknown version {}", contents.version),
            });
        }
        Ok(contents)
    }

    fn save(&self, contents: &Contents) -> Result<(), StoreError> {
        files::write_private_json(&self.path, contents).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

impl SecretBackend for FileBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::File
    }

    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        Ok(self.load()?.secrets.remove(&slot.name()))
    }

    fn write(&self, slot: &Slot, value: &Secret) -> Result<(), StoreError> {
        let mut contents = self.load()?;
        contents.secrets.insert(slot.name(), value.clone());
        self.save(&contents)
    }

    fn remove(&self, slot: &Slot) -> Result<bool, StoreError> {
        let mut contents = self.load()?;
        if contents.secrets.remove(&slot.name()).is_none() {
            return Ok(false);
        }
        self.save(&contents)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_other_slots_and_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let backend = FileBackend::new(dir.path());
        let quay = Slot::Registry("quay.io".into());
        backend.write(&quay, &Secret::new("s1")).unwrap();
        backend.write(&Slot::ApiKey, &Secret::new("k")).unwrap();
        assert_eq!(backend.read(&quay).unwrap().unwrap().expose(), "s1");
        assert!(backend.remove(&quay).unwrap());
        assert!(!backend.remove(&quay).unwrap());
        assert_eq!(backend.read(&quay).unwrap(), None);
        assert_eq!(backend.read(&Slot::ApiKey).unwrap().unwrap().expose(), "k");
        #[cfg(unix)]
        assert_eq!(files::mode_of(backend.path()), Some(0o600));
    }

    #[test]
    fn damaged_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let backend = FileBackend::new(dir.path());
        std::fs::write(backend.path(), "{not json").unwrap();
        let err = backend.read(&Slot::ApiKey).unwrap_err().to_string();
        assert!(err.contains("credentials.json is damaged"), "{err}");
        // and a write must not clobber it
        assert!(backend.write(&Slot::ApiKey, &Secret::new("k")).is_err());
        assert_eq!(
            std::fs::read_to_string(backend.path()).unwrap(),
            "{not json"
        );
    }
}
