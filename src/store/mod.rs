//! Where credentials live: one trait over the secret backends, the record format, backend
//! selection, and the non-secret index that `list` reads.
//!
//! Promises: a secret goes only to the chosen backend (keychain, or the 0600 file where no
//! keychain is reachable), never into the index or a log; every index or file-store update
//! happens under one cross-process lock, so parallel helpers never lose each other's writes.
//!
//! Crash safety: a store or erase first records its intent in the index, then touches the
//! backend, then updates the index and drops the intent. A process killed anywhere in between
//! leaves an intent; the next command that opens the store finishes it (the secret is in the
//! backend: the index gets its entry) or undoes it (it is not: the entry stays as it was), and
//! deletes temp files a killed write left (`journal`). Opening costs one small file read and
//! one directory listing when there is nothing to do.

pub mod file;
pub mod index;
mod journal;
pub mod keyring;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, StoreChoice};
use crate::env;
use crate::lock::{FileLock, LockError};
use crate::secret::Secret;
use file::FileBackend;
use index::{Index, IndexEntry, Intent, Provisioned};
use journal::complete_put;
use keyring::KeyringBackend;

/// Serialises index and file-store updates across processes.
pub const STORE_LOCK: &str = "store.lock";
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
    /// A registry record under the name an earlier version gave it, before keychain items
    /// carried their install (see `keyring`); other backends have none.
    fn read_legacy(&self, _slot: &Slot) -> Result<Option<Secret>, StoreError> {
        Ok(None)
    }
    fn remove_legacy(&self, _slot: &Slot) -> Result<bool, StoreError> {
        Ok(false)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no keychain is reachable ({reason}): {} or set {}=file",
        keyring::UNAVAILABLE_FIX,
        env::STORE
    )]
    Unavailable { reason: String },
    #[error(
        "the keychain is locked or has no default collection ({detail}): {}, or set {}=file",
        keyring::LOCKED_FIX,
        env::STORE
    )]
    Locked { detail: String },
    #[error("keychain error: {detail}")]
    Keychain { detail: String },
    #[error(
        "the credential for {key} is in the keychain, which this process cannot reach ({reason}): run the command in the desktop session that holds the keychain (log in to it, or set DBUS_SESSION_BUS_ADDRESS to its bus, usually unix:path=/run/user/<uid>/bus), or set {}=file to create and keep a new one in the file store",
        env::STORE
    )]
    KeychainUnreachable { key: String, reason: String },
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

/// Why a [`Store::put`] failed: whether the secret is stored decides what the user must do.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// Nothing was written to the backend: the secret is not stored.
    #[error(transparent)]
    NotStored(StoreError),
    /// The secret is in the backend (`get` finds it), but the index was not updated; its
    /// intent stays in the index when that was written, and the next command records it.
    #[error(
        "the secret is stored in the {} store, but the index was not updated ({cause}); the next command that can write the index records it",
        backend.as_str()
    )]
    IndexNotUpdated {
        backend: BackendKind,
        cause: StoreError,
    },
}

/// The chosen backend plus the index and its lock.
pub struct Store {
    dir: PathBuf,
    backend: Box<dyn SecretBackend>,
    /// In `auto` mode with a keychain: the file store too, if an earlier run fell back to it,
    /// so nothing stored there is lost when a keychain appears.
    fallback: Option<FileBackend>,
    /// In `auto` mode without a keychain: why not. A credential the index puts in the keychain
    /// is then an error, never a reason to create a second one.
    unreachable_keychain: Option<String>,
}

impl Store {
    /// Opens the backend the configuration asks for. In `auto` mode an unreachable keychain
    /// falls back to the file store with one warning on stderr. Finishes or undoes what a
    /// killed command left (see the module header).
    pub fn open(config: &Config) -> Result<Store, StoreError> {
        let dir = config.dir.clone();
        let file = FileBackend::new(&dir);
        // Read once: the install id names keychain items, and the intents say whether a killed
        // command left work to finish.
        let index = Index::load(&dir);
        let mut unreachable_keychain = None;
        let (backend, fallback): (Box<dyn SecretBackend>, Option<FileBackend>) = match config.store
        {
            StoreChoice::File => (Box::new(file), None),
            StoreChoice::Keyring => {
                let fallback = file.exists().then_some(file);
                let keyring =
                    KeyringBackend::connect()?.scoped(install_scope(&dir, index.as_ref().ok()));
                (Box::new(keyring), fallback)
            }
            StoreChoice::Auto => match KeyringBackend::connect() {
                Ok(keyring) => {
                    let keyring = keyring.scoped(install_scope(&dir, index.as_ref().ok()));
                    forget_no_keychain(&dir);
                    let fallback = file.exists().then_some(file);
                    (Box::new(keyring), fallback)
                }
                Err(StoreError::Unavailable { reason }) => {
                    if first_time_without_keychain(&dir, &reason) {
                        crate::warn!(
                            "no keychain is reachable ({reason}); using {} (0600); to make that lasting and quiet, set store = \"file\" in {}",
                            file.path().display(),
                            dir.join(crate::config::CONFIG_FILE).display()
                        );
                    } else {
                        crate::debug!("no keychain is reachable ({reason}); using the file store");
                    }
                    unreachable_keychain = Some(reason);
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
        let store = Store {
            dir,
            backend,
            fallback,
            unreachable_keychain,
        };
        store.recover(index.ok())?;
        Ok(store)
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// The credential stored for a canonical registry key.
    pub fn get(&self, key: &str) -> Result<Option<StoredCredential>, StoreError> {
        let slot = Slot::Registry(key.to_string());
        if let Some(found) = self.read_where_the_index_says(key, &slot)? {
            return decode_record(&found, &slot).map(Some);
        }
        match self.read(&slot)? {
            Some(value) => decode_record(&value, &slot).map(Some),
            None => {
                self.check_not_in_unreachable_keychain(key)?;
                self.read_legacy_of_ours(key, &slot)
            }
        }
    }

    /// A keychain record stored by an earlier version under its unscoped name, answered only
    /// when this config dir's index names it (same username): another install's item with the
    /// same name is never ours.
    fn read_legacy_of_ours(
        &self,
        key: &str,
        slot: &Slot,
    ) -> Result<Option<StoredCredential>, StoreError> {
        let Some(value) = self.backend.read_legacy(slot)? else {
            return Ok(None);
        };
        let index = Index::load(&self.dir)?;
        let Some(entry) = index
            .entries
            .get(key)
            .filter(|entry| entry.backend == BackendKind::Keyring.as_str())
        else {
            return Ok(None);
        };
        let record = decode_record(&value, slot)?;
        Ok((record.username == entry.username).then_some(record))
    }

    /// The per-install tag, created on first need and kept in the index: it marks the
    /// credentials this install creates (their comment) and its keychain items.
    pub fn install_id(&self) -> Result<String, StoreError> {
        ensure_install_id(&self.dir, &self.index()?)
    }

    /// After a fallback (a locked keychain refused a secret, the 0600 file took it), the
    /// keychain may still hold an older record for the same key: the index names where the
    /// current one is, so that `get` answers what `list` and `status` track. Only when the
    /// fallback file exists, so the usual `get` reads no index here.
    fn read_where_the_index_says(
        &self,
        key: &str,
        slot: &Slot,
    ) -> Result<Option<Secret>, StoreError> {
        let Some(fallback) = &self.fallback else {
            return Ok(None);
        };
        let in_file = Index::load(&self.dir)?
            .entries
            .get(key)
            .is_some_and(|entry| entry.backend == BackendKind::File.as_str());
        if !in_file {
            return Ok(None);
        }
        crate::debug!("the index puts {key} in {}", fallback.path().display());
        fallback.read(slot)
    }

    /// Nothing found: an error, not "nothing stored", when the index says the credential is
    /// in a keychain this process cannot reach (cron, `su -`, CI without the session bus).
    fn check_not_in_unreachable_keychain(&self, key: &str) -> Result<(), StoreError> {
        let Some(reason) = &self.unreachable_keychain else {
            return Ok(());
        };
        let keyring = BackendKind::Keyring.as_str();
        let index = Index::load(&self.dir)?;
        let in_keychain = index.entries.get(key).is_some_and(|e| e.backend == keyring)
            || index.intents.iter().any(|intent| {
                matches!(intent, Intent::Put { key: k, backend, .. } if k == key && backend == keyring)
            });
        if in_keychain {
            return Err(StoreError::KeychainUnreachable {
                key: key.to_string(),
                reason: reason.clone(),
            });
        }
        Ok(())
    }

    /// A slot from the backend, else from the file an earlier fallback left, with where it
    /// was found.
    fn read_located(&self, slot: &Slot) -> Result<Option<(Secret, String)>, StoreError> {
        crate::debug!(
            "reading {} from {}",
            slot.name(),
            self.backend.kind().as_str()
        );
        if let Some(value) = self.backend.read(slot)? {
            return Ok(Some((value, self.place(self.backend.as_ref()))));
        }
        match &self.fallback {
            Some(fallback) => {
                crate::debug!("not in the keychain; trying {}", fallback.path().display());
                Ok(fallback
                    .read(slot)?
                    .map(|value| (value, self.place(fallback))))
            }
            None => Ok(None),
        }
    }

    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        Ok(self.read_located(slot)?.map(|(value, _)| value))
    }

    /// Where a backend keeps things, for people: "the keychain" or the file's path.
    fn place(&self, backend: &dyn SecretBackend) -> String {
        match backend.kind() {
            BackendKind::Keyring => "the keychain".to_string(),
            BackendKind::File => FileBackend::new(&self.dir).path().display().to_string(),
        }
    }

    /// Stores a credential: the intent, then the secret, then the index entry naming it.
    pub fn put(
        &self,
        key: &str,
        server_url: &str,
        credential: &StoredCredential,
        provisioned: Option<Provisioned>,
    ) -> Result<(), PutError> {
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
    ) -> Result<(), PutError> {
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
    ) -> Result<(), PutError> {
        let slot = Slot::Registry(key.to_string());
        let record = Record {
            username: credential.username.clone(),
            secret: credential.secret.clone(),
        };
        let value = Secret::new(serde_json::to_string(&record).expect("record serialises"));
        let intent = Intent::Put {
            key: key.to_string(),
            server_url: server_url.to_string(),
            username: credential.username.clone(),
            backend: backend.kind().as_str().to_string(),
            provisioned: provisioned.clone().map(Box::new),
            pid: std::process::id(),
        };
        let _lock = self.lock().map_err(PutError::NotStored)?;
        self.sweep_temps();
        let mut index = self
            .record_intent(intent.clone())
            .map_err(PutError::NotStored)?;
        crate::debug!("writing {} to {}", slot.name(), backend.kind().as_str());
        if let Err(err) = backend.write(&slot, &value) {
            index.intents.retain(|i| i != &intent);
            // Best effort: a leftover intent is undone by the next command anyway.
            let _ = index.save(&self.dir);
            return Err(PutError::NotStored(err));
        }
        index.intents.retain(|i| i != &intent);
        complete_put(
            &mut index,
            key,
            server_url,
            credential.username.clone(),
            backend.kind(),
            provisioned,
        );
        index
            .save(&self.dir)
            .map_err(|cause| PutError::IndexNotUpdated {
                backend: backend.kind(),
                cause,
            })
    }

    /// Removes a credential from the backend (and the fallback file) and the index. Removing
    /// what is not there is not an error: `docker logout` and `skopeo logout` rely on that.
    pub fn erase(&self, key: &str) -> Result<bool, StoreError> {
        self.erase_with(key, |_, _| {})
    }

    /// [`Store::erase`], and `forgotten` records what the removed index entry leaves behind
    /// (a retiring credential) in the same index write.
    pub fn erase_with(
        &self,
        key: &str,
        forgotten: impl FnOnce(&mut Index, IndexEntry),
    ) -> Result<bool, StoreError> {
        let slot = Slot::Registry(key.to_string());
        let _lock = self.lock()?;
        self.sweep_temps();
        if self.backend.kind() == BackendKind::File {
            // Do not forget a keychain credential we cannot remove.
            self.check_not_in_unreachable_keychain(key)?;
        }
        let intent = Intent::Erase {
            key: key.to_string(),
            pid: std::process::id(),
        };
        let mut index = Index::load(&self.dir)?;
        let removed_entry = index.entries.remove(key);
        let had_entry = removed_entry.is_some();
        let ours_in_keychain = removed_entry
            .as_ref()
            .is_some_and(|entry| entry.backend == BackendKind::Keyring.as_str());
        if let Some(entry) = removed_entry {
            forgotten(&mut index, entry);
        }
        index.intents.retain(|i| i.key() != key);
        index.intents.push(intent.clone());
        index.save(&self.dir)?;
        let mut removed = self.remove_everywhere(&slot)?;
        if ours_in_keychain {
            // Stored by an earlier version under the unscoped name, and the index says ours.
            removed |= self.backend.remove_legacy(&slot)?;
        }
        index.intents.retain(|i| i != &intent);
        index.save(&self.dir)?;
        Ok(removed || had_entry)
    }

    /// Removes `slot` from every backend `get` reads it from.
    fn remove_everywhere(&self, slot: &Slot) -> Result<bool, StoreError> {
        let mut removed = self.backend.remove(slot)?;
        if self.backend.kind() != BackendKind::File {
            removed |= FileBackend::new(&self.dir).remove(slot)?;
        }
        Ok(removed)
    }

    /// The API key saved by `login`.
    pub fn api_key(&self) -> Result<Option<Secret>, StoreError> {
        self.read(&Slot::ApiKey)
    }

    /// Where the API key saved by `login` is: "the keychain" or the file's path.
    pub fn api_key_place(&self) -> Result<Option<String>, StoreError> {
        Ok(self.read_located(&Slot::ApiKey)?.map(|(_, place)| place))
    }

    pub fn set_api_key(&self, key: &Secret) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        self.backend.write(&Slot::ApiKey, key)?;
        self.note_api_key(Some(self.backend.kind()));
        Ok(())
    }

    /// Records (best effort, under the store lock) which backend holds the saved API key.
    fn note_api_key(&self, backend: Option<BackendKind>) {
        let noted = Index::load(&self.dir).and_then(|mut index| {
            index.api_key_backend = backend.map(|kind| kind.as_str().to_string());
            index.save(&self.dir)
        });
        if let Err(err) = noted {
            crate::debug!("cannot note where the API key is: {err}");
        }
    }

    /// Why the keychain could not be reached, when `auto` mode fell back to the file store.
    pub fn unreachable_keychain(&self) -> Option<&str> {
        self.unreachable_keychain.as_deref()
    }

    /// Removes the saved API key from every place `get` reads it; returns those places.
    pub fn remove_api_key(&self) -> Result<Vec<String>, StoreError> {
        let _lock = self.lock()?;
        let mut places = Vec::new();
        if self.backend.remove(&Slot::ApiKey)? {
            places.push(self.place(self.backend.as_ref()));
        }
        if self.backend.kind() != BackendKind::File {
            let file = FileBackend::new(&self.dir);
            if file.remove(&Slot::ApiKey)? {
                places.push(self.place(&file));
            }
        }
        if self.unreachable_keychain.is_none() {
            self.note_api_key(None);
        }
        Ok(places)
    }

    /// Proves the backend accepts writes, before anything irreversible (a remote create)
    /// depends on it: a locked keychain must fail here, not after the secret exists. The
    /// probe is an erase intent first, so a kill mid-probe leaves nothing behind.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let probe = Slot::Registry(PROBE_KEY.to_string());
        let intent = Intent::Erase {
            key: PROBE_KEY.to_string(),
            pid: std::process::id(),
        };
        let _lock = self.lock()?;
        let mut index = self.record_intent(intent.clone())?;
        let probed = self
            .backend
            .write(&probe, &Secret::new("probe"))
            .and_then(|()| self.backend.remove(&probe));
        if probed.is_err() && self.backend.read(&probe).ok().flatten().is_some() {
            // The probe may still be there: the intent stays for the next command to remove.
            return probed.map(drop);
        }
        index.intents.retain(|i| i != &intent);
        index.save(&self.dir)?;
        probed.map(drop)
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
        store_lock(&self.dir)
    }
}

/// The store lock of `dir`: held by every writer of the index and the file store.
fn store_lock(dir: &Path) -> Result<FileLock, StoreError> {
    Ok(FileLock::acquire(
        &dir.join(STORE_LOCK),
        STORE_LOCK_TIMEOUT,
        "updating the credential index",
    )?)
}

/// The install id `index` (just loaded from `dir`) holds, else a new one, saved under the
/// store lock (a process that saved one meanwhile wins).
fn ensure_install_id(dir: &Path, index: &Index) -> Result<String, StoreError> {
    if let Some(id) = &index.install_id {
        return Ok(id.clone());
    }
    let _lock = store_lock(dir)?;
    let mut index = Index::load(dir)?;
    let id = index
        .install_id
        .get_or_insert_with(|| crate::tag::random_hex(12))
        .clone();
    index.save(dir)?;
    Ok(id)
}

/// The install id that scopes this config dir's keychain items, created on first need (under
/// the store lock); none when the index cannot be read or written (then the items' unscoped
/// names are used, as earlier versions did).
fn install_scope(dir: &Path, index: Option<&Index>) -> Option<String> {
    ensure_install_id(dir, index?).ok()
}

/// Remembers, in the config directory, why no keychain was reachable, so that the fallback
/// warning is shown once per directory and reason, not on every `get` (every skopeo call).
const NO_KEYCHAIN_MARKER: &str = "no-keychain";

/// True (and remembered) the first time `reason` is seen in `dir`. A marker that cannot be
/// written means the warning is shown again: better repeated than lost.
fn first_time_without_keychain(dir: &Path, reason: &str) -> bool {
    if !crate::log::enabled(crate::log::Level::Warn) {
        return false; // not shown now, so not remembered as shown
    }
    let marker = dir.join(NO_KEYCHAIN_MARKER);
    if crate::files::read_optional(&marker)
        .ok()
        .flatten()
        .is_some_and(|seen| seen == reason.as_bytes())
    {
        return false;
    }
    let _ = crate::files::ensure_private_dir(dir)
        .and_then(|()| crate::files::write_atomic(&marker, reason.as_bytes(), 0o600));
    true
}

/// A keychain is back: a later loss of it is news again. One `unlink` (usually ENOENT).
fn forget_no_keychain(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(NO_KEYCHAIN_MARKER));
}

/// The slot [`Store::check_writable`] writes and removes.
const PROBE_KEY: &str = "probe.docker-credential-deepgram.invalid";

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

/// A store over `backend` in `dir`, for unit tests that need a backend that misbehaves.
#[cfg(test)]
pub(crate) fn store_for_tests(dir: &std::path::Path, backend: Box<dyn SecretBackend>) -> Store {
    Store {
        dir: dir.to_path_buf(),
        backend,
        fallback: None,
        unreachable_keychain: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use index::UnfinishedCreate;

    /// The file backend, but every write also makes the index impossible to replace: the
    /// backend write succeeds and the index update after it fails.
    pub(crate) struct BreaksIndexAfterWrite(pub FileBackend, pub PathBuf);

    impl SecretBackend for BreaksIndexAfterWrite {
        fn kind(&self) -> BackendKind {
            BackendKind::File
        }
        fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
            self.0.read(slot)
        }
        fn write(&self, slot: &Slot, value: &Secret) -> Result<(), StoreError> {
            self.0.write(slot, value)?;
            let index = Index::path(&self.1);
            std::fs::remove_file(&index).unwrap();
            std::fs::create_dir_all(index.join("blocked")).unwrap();
            Ok(())
        }
        fn remove(&self, slot: &Slot) -> Result<bool, StoreError> {
            self.0.remove(slot)
        }
    }

    fn credential(user: &str) -> StoredCredential {
        StoredCredential {
            username: user.into(),
            secret: Secret::new("s3cret"),
        }
    }

    #[test]
    fn after_a_fallback_get_answers_the_credential_the_index_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let keychain_dir = tempfile::tempdir().unwrap();
        // What the keychain still holds (the old credential) and what the fallback file took.
        let keychain = store_for_tests(
            keychain_dir.path(),
            Box::new(FileBackend::new(keychain_dir.path())),
        );
        keychain
            .put("quay.io", "quay.io", &credential("old"), None)
            .unwrap();
        let file = store_for_tests(dir.path(), Box::new(FileBackend::new(dir.path())));
        file.put("quay.io", "quay.io", &credential("new"), None)
            .unwrap();
        let store = Store {
            dir: dir.path().to_path_buf(),
            backend: Box::new(FileBackend::new(keychain_dir.path())),
            fallback: Some(FileBackend::new(dir.path())),
            unreachable_keychain: None,
        };
        // The index (written by the put into the file) names the file and the new username.
        assert_eq!(store.get("quay.io").unwrap().unwrap().username, "new");
        // Where the index names the keychain, the keychain answers.
        store
            .update_index(|index| {
                index.entries.get_mut("quay.io").unwrap().backend = "keyring".into()
            })
            .unwrap();
        assert_eq!(store.get("quay.io").unwrap().unwrap().username, "old");
    }

    fn provisioned(id: &str, comment: &str) -> Provisioned {
        Provisioned {
            id: id.into(),
            project_id: "p".into(),
            api_url: "https://api.deepgram.com".into(),
            created: None,
            scopes: vec![],
            comment: Some(comment.into()),
            checked_at: None,
            check_failed_at: None,
            stored_at: None,
            rotation_failures: 0,
        }
    }

    fn marker(comment: &str) -> UnfinishedCreate {
        UnfinishedCreate {
            key: "quay.io".into(),
            project_id: "p".into(),
            api_url: "https://api.deepgram.com".into(),
            comment: comment.into(),
            id: None,
            started_at: 1,
            pid: 1,
        }
    }

    fn file_store(dir: &std::path::Path) -> Store {
        store_for_tests(dir, Box::new(FileBackend::new(dir)))
    }

    #[test]
    fn a_failed_index_update_after_the_write_says_the_secret_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_for_tests(
            dir.path(),
            Box::new(BreaksIndexAfterWrite(
                FileBackend::new(dir.path()),
                dir.path().to_path_buf(),
            )),
        );
        let err = store
            .put("quay.io", "quay.io", &credential("u"), None)
            .unwrap_err();
        assert!(
            matches!(
                err,
                PutError::IndexNotUpdated {
                    backend: BackendKind::File,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(
                "the secret is stored in the file store, but the index was not updated"
            ),
            "{text}"
        );
        assert!(!text.contains("lost") && !text.contains("delete"), "{text}");
        assert_eq!(store.get("quay.io").unwrap().unwrap().username, "u");
    }

    #[test]
    fn a_refused_write_says_nothing_is_stored_and_leaves_no_intent() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        // the file store's file cannot be replaced
        std::fs::create_dir_all(dir.path().join("credentials.json/blocked")).unwrap();
        let err = store
            .put("quay.io", "quay.io", &credential("u"), None)
            .unwrap_err();
        assert!(matches!(err, PutError::NotStored(_)), "{err:?}");
        let index = store.index().unwrap();
        assert!(
            index.intents.is_empty() && index.entries.is_empty(),
            "{index:?}"
        );
    }

    #[test]
    fn an_interrupted_store_whose_secret_was_written_is_finished_by_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        let created = provisioned("id-1", "c [dcd:abc:111111]");
        // what a kill between the backend write and the index save leaves
        store
            .update_index(|index| {
                index.unfinished.push(marker("c [dcd:abc:000000]"));
                index.unfinished.push(marker("c [dcd:abc:111111]"));
                index.intents.push(Intent::Put {
                    key: "quay.io".into(),
                    server_url: "quay.io".into(),
                    username: "deepgram+id-1".into(),
                    backend: "file".into(),
                    provisioned: Some(Box::new(created.clone())),
                    pid: 1,
                });
            })
            .unwrap();
        let record = Record {
            username: "deepgram+id-1".into(),
            secret: Secret::new("s"),
        };
        FileBackend::new(dir.path())
            .write(
                &Slot::Registry("quay.io".into()),
                &Secret::new(serde_json::to_string(&record).unwrap()),
            )
            .unwrap();
        std::fs::write(dir.path().join(".index.json.1.abc.tmp"), "half").unwrap();

        let reopened = file_store(dir.path());
        reopened.recover(Index::load(dir.path()).ok()).unwrap();
        let index = reopened.index().unwrap();
        assert!(index.intents.is_empty());
        assert_eq!(
            index.entries["quay.io"].provisioned.as_ref(),
            Some(&created)
        );
        // the marker of the credential in use is gone; the older possible orphan stays
        let left: Vec<_> = index
            .unfinished
            .iter()
            .map(|m| m.comment.as_str())
            .collect();
        assert_eq!(left, ["c [dcd:abc:000000]"]);
        assert!(crate::files::temps_of(&Index::path(dir.path())).is_empty());
    }

    #[test]
    fn an_interrupted_store_whose_secret_was_not_written_is_undone_and_names_the_orphan() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        store
            .update_index(|index| {
                index.unfinished.push(marker("c [dcd:abc:222222]"));
                index.intents.push(Intent::Put {
                    key: "quay.io".into(),
                    server_url: "quay.io".into(),
                    username: "deepgram+id-2".into(),
                    backend: "file".into(),
                    provisioned: Some(Box::new(provisioned("id-2", "c [dcd:abc:222222]"))),
                    pid: 1,
                });
            })
            .unwrap();
        let reopened = file_store(dir.path());
        reopened.recover(Index::load(dir.path()).ok()).unwrap();
        let index = reopened.index().unwrap();
        assert!(index.intents.is_empty() && index.entries.is_empty());
        assert_eq!(index.unfinished.len(), 1);
        assert_eq!(index.unfinished[0].id.as_deref(), Some("id-2"));
    }

    #[test]
    fn a_damaged_index_does_not_stop_a_stored_credential_from_answering() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        store
            .put("a.example", "a.example", &credential("u"), None)
            .unwrap();
        std::fs::write(Index::path(dir.path()), "{not json").unwrap();
        let reopened = file_store(dir.path());
        reopened.recover(Index::load(dir.path()).ok()).unwrap();
        assert_eq!(reopened.get("a.example").unwrap().unwrap().username, "u");
        assert!(
            reopened
                .index()
                .unwrap_err()
                .to_string()
                .contains("index.json is damaged")
        );
    }

    #[test]
    fn an_interrupted_erase_is_finished_by_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        store
            .put("a.example", "a.example", &credential("u"), None)
            .unwrap();
        // what a kill between the index save and the backend removal leaves
        store
            .update_index(|index| {
                index.entries.remove("a.example");
                index.intents.push(Intent::Erase {
                    key: "a.example".into(),
                    pid: 1,
                });
            })
            .unwrap();
        let reopened = file_store(dir.path());
        reopened.recover(Index::load(dir.path()).ok()).unwrap();
        assert_eq!(reopened.get("a.example").unwrap(), None);
        assert!(reopened.index().unwrap().intents.is_empty());
    }

    #[test]
    fn an_unreachable_keychain_holding_the_credential_is_an_error_not_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(dir.path());
        store
            .update_index(|index| {
                index.entries.insert(
                    "quay.io".into(),
                    IndexEntry {
                        server_url: "quay.io".into(),
                        username: "deepgram+1".into(),
                        backend: "keyring".into(),
                        provisioned: None,
                    },
                );
            })
            .unwrap();
        assert_eq!(
            store.get("quay.io").unwrap(),
            None,
            "file store chosen: not ours to judge"
        );
        store.unreachable_keychain = Some("no session bus".into());
        let err = store.get("quay.io").unwrap_err().to_string();
        assert!(
            err.starts_with("the credential for quay.io is in the keychain, which this process cannot reach (no session bus)"),
            "{err}"
        );
        assert!(store.erase("quay.io").is_err(), "not forgotten either");
        assert_eq!(store.get("other.example").unwrap(), None);
    }
}
