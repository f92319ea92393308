//! Where credentials live: one trait over the secret backends, the record format, backend
//! selection, and the non-secret index that `list` reads.
//!
//! Promises: a secret goes only to the chosen backend (keychain, or the 0600 file where no
//! keychain is reachable), never into the index or a log; a credential is written to its
//! backend before the index names it; every index or file-store update happens under one
//! cross-process lock, so parallel helpers never lose each other's writes.

pub mod file;
pub mod index;
pub mod keyring;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, StoreChoice};
use crate::env;
use crate::lock::{FileLock, LockError};
use crate::secret::Secret;
use file::FileBackend;
use index::{Index, IndexEntry, Provisioned};
use keyring::KeyringBackend;

/// Serialises index and file-store updates across processes.
const STORE_LOCK: &str = "store.lock";
/// Index updates are quick; waiting longer means something is wrong.
const STORE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Keyring,
    File,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Keyring => "keyring",
            BackendKind::File => "file",
        }
    }
}

/// A named place in a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A registry credential, by canonical key.
    Registry(String),
    /// The Deepgram API key saved by `login`.
    ApiKey,
}

impl Slot {
    /// The backend's name for the slot; prefixes keep registries and the API key apart.
    pub fn name(&self) -> String {
        match self {
            Slot::Registry(key) => format!("registry:{key}"),
            Slot::ApiKey => "deepgram-api-key".to_string(),
        }
    }
}

/// A secret backend: opaque values by slot.
pub trait SecretBackend {
    fn kind(&self) -> BackendKind;
    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError>;
    fn write(&self, slot: &Slot, value: &Secret) -> Result<(), StoreError>;
    /// `Ok(false)` when there was nothing to remove.
    fn remove(&self, slot: &Slot) -> Result<bool, StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no keychain is reachable ({reason}): start a Secret Service (e.g. gnome-keyring) or set {}=file",
        env::STORE
    )]
    Unavailable { reason: String },
    #[error(
        "the keychain is locked or has no default collection ({detail}): unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock`), or set {}=file",
        env::STORE
    )]
    Locked { detail: String },
    #[error("keychain error: {detail}")]
    Keychain { detail: String },
    #[error("{path} is damaged ({detail}): move it aside and store the credentials again")]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// What a registry slot holds: username and secret together, so `get` needs one read.
#[derive(Serialize, Deserialize)]
struct Record {
    username: String,
    secret: Secret,
}

/// A credential as `get` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub username: String,
    pub secret: Secret,
}

/// The chosen backend plus the index and its lock.
pub struct Store {
    dir: PathBuf,
    backend: Box<dyn SecretBackend>,
    /// In `auto` mode with a keychain: the file store too, if an earlier run fell back to it,
    /// so nothing stored there is lost when a keychain appears.
    fallback: Option<FileBackend>,
}

impl Store {
    /// Opens the backend the configuration asks for. In `auto` mode an unreachable keychain
    /// falls back to the file store with one warning on stderr.
    pub fn open(config: &Config) -> Result<Store, StoreError> {
        let dir = config.dir.clone();
        let file = FileBackend::new(&dir);
        let (backend, fallback): (Box<dyn SecretBackend>, Option<FileBackend>) = match config.store
        {
            StoreChoice::File => (Box::new(file), None),
            StoreChoice::Keyring => {
                let fallback = file.exists().then_some(file);
                (Box::new(KeyringBackend::connect()?), fallback)
            }
            StoreChoice::Auto => match KeyringBackend::connect() {
                Ok(keyring) => {
                    let fallback = file.exists().then_some(file);
                    (Box::new(keyring), fallback)
                }
                Err(StoreError::Unavailable { reason }) => {
                    crate::warn!(
                        "no keychain is reachable ({reason}); keeping secrets in {} (mode 0600). Set {}=file to choose this and silence the warning, or {}=keyring to require a keychain",
                        file.path().display(),
                        env::STORE,
                        env::STORE
                    );
                    (Box::new(file), None)
                }
                Err(other) => return Err(other),
            },
        };
        crate::debug!(
            "store backend: {} (config dir {})",
            backend.kind().as_str(),
            dir.display()
        );
        Ok(Store {
            dir,
            backend,
            fallback,
        })
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The credential stored for a canonical registry key.
    pub fn get(&self, key: &str) -> Result<Option<StoredCredential>, StoreError> {
        let slot = Slot::Registry(key.to_string());
        self.read(&slot)?
            .map(|value| decode_record(&value, &slot))
            .transpose()
    }

    /// A slot from the backend, else from the file an earlier fallback left.
    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        crate::debug!(
            "reading {} from {}",
            slot.name(),
            self.backend.kind().as_str()
        );
        if let Some(value) = self.backend.read(slot)? {
            return Ok(Some(value));
        }
        match &self.fallback {
            Some(fallback) => {
                crate::debug!("not in the keychain; trying {}", fallback.path().display());
                fallback.read(slot)
            }
            None => Ok(None),
        }
    }

    /// Stores a credential: the secret first, then the index entry naming it.
    pub fn put(
        &self,
        key: &str,
        server_url: &str,
        credential: &StoredCredential,
        provisioned: Option<Provisioned>,
    ) -> Result<(), StoreError> {
        self.put_into(
            self.backend.as_ref(),
            key,
            server_url,
            credential,
            provisioned,
        )
    }

    /// Last resort after a remote create when the chosen backend refused the secret: the 0600
    /// file keeps it, and `get` finds it there (the file is consulted when it exists).
    pub fn put_in_file(
        &self,
        key: &str,
        server_url: &str,
        credential: &StoredCredential,
        provisioned: Option<Provisioned>,
    ) -> Result<(), StoreError> {
        let file = FileBackend::new(&self.dir);
        self.put_into(&file, key, server_url, credential, provisioned)
    }

    fn put_into(
        &self,
        backend: &dyn SecretBackend,
        key: &str,
        server_url: &str,
        credential: &StoredCredential,
        provisioned: Option<Provisioned>,
    ) -> Result<(), StoreError> {
        let slot = Slot::Registry(key.to_string());
        let record = Record {
            username: credential.username.clone(),
            secret: credential.secret.clone(),
        };
        let value = Secret::new(serde_json::to_string(&record).expect("record serialises"));
        let _lock = self.lock()?;
        crate::debug!("writing {} to {}", slot.name(), backend.kind().as_str());
        backend.write(&slot, &value)?;
        let mut index = Index::load(&self.dir)?;
        index.pending.remove(key);
        index.entries.insert(
            key.to_string(),
            IndexEntry {
                server_url: server_url.to_string(),
                username: credential.username.clone(),
                backend: backend.kind().as_str().to_string(),
                provisioned,
            },
        );
        index.save(&self.dir)
    }

    /// Removes a credential from the backend (and the fallback file) and the index. Removing
    /// what is not there is not an error: `docker logout` and `skopeo logout` rely on that.
    pub fn erase(&self, key: &str) -> Result<bool, StoreError> {
        let slot = Slot::Registry(key.to_string());
        let _lock = self.lock()?;
        let mut removed = self.backend.remove(&slot)?;
        if let Some(fallback) = &self.fallback {
            removed |= fallback.remove(&slot)?;
        }
        let mut index = Index::load(&self.dir)?;
        if index.entries.remove(key).is_some() {
            index.save(&self.dir)?;
            removed = true;
        }
        Ok(removed)
    }

    /// Server name → username, from the index (no secret is read).
    pub fn list(&self) -> Result<BTreeMap<String, String>, StoreError> {
        Ok(Index::load(&self.dir)?
            .entries
            .into_values()
            .map(|entry| (entry.server_url, entry.username))
            .collect())
    }

    /// The API key saved by `login`.
    pub fn api_key(&self) -> Result<Option<Secret>, StoreError> {
        self.read(&Slot::ApiKey)
    }

    pub fn set_api_key(&self, key: &Secret) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        self.backend.write(&Slot::ApiKey, key)
    }

    pub fn remove_api_key(&self) -> Result<bool, StoreError> {
        let _lock = self.lock()?;
        self.backend.remove(&Slot::ApiKey)
    }

    /// Proves the backend accepts writes, before anything irreversible (a remote create)
    /// depends on it: a locked keychain must fail here, not after the secret exists.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let probe = Slot::Registry("probe.docker-credential-deepgram.invalid".to_string());
        let _lock = self.lock()?;
        self.backend.write(&probe, &Secret::new("probe"))?;
        self.backend.remove(&probe)?;
        Ok(())
    }

    /// Reads the index (for commands that show or update provisioning state).
    pub fn index(&self) -> Result<Index, StoreError> {
        Index::load(&self.dir)
    }

    /// Applies `change` to the index under the store lock and saves it.
    pub fn update_index<T>(&self, change: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        let _lock = self.lock()?;
        let mut index = Index::load(&self.dir)?;
        let result = change(&mut index);
        index.save(&self.dir)?;
        Ok(result)
    }

    fn lock(&self) -> Result<FileLock, StoreError> {
        Ok(FileLock::acquire(
            &self.dir.join(STORE_LOCK),
            STORE_LOCK_TIMEOUT,
            "updating the credential index",
        )?)
    }
}

pub(crate) fn decode_record(value: &Secret, slot: &Slot) -> Result<StoredCredential, StoreError> {
    let record: Record =
        serde_json::from_str(value.expose()).map_err(|_| StoreError::Keychain {
            detail: format!(
                "the item {} is not in this helper's format: erase it and store the credential again",
                slot.name()
            ),
        })?;
    Ok(StoredCredential {
        username: record.username,
        secret: record.secret,
    })
}
