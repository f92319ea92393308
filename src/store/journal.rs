//! The store's write-ahead journal: the intents a store or erase records in the index before
//! it touches a backend, and the recovery that the next command runs from them (finish what
//! reached the backend, undo what did not), with the sweep of temp files a killed write left.
//! Runs under the store lock; never reads or logs a secret beyond what recovery must move.

use std::path::PathBuf;

use super::file::FileBackend;
use super::index::{self, Index, IndexEntry, Intent, Provisioned};
use super::{BackendKind, SecretBackend, Slot, Store, StoreError, decode_record};
use crate::files;

impl Store {
    /// Adds `intent` to the index (replacing older ones for its key: the newest operation
    /// decides the state) and saves it. Under the store lock.
    pub(super) fn record_intent(&self, intent: Intent) -> Result<Index, StoreError> {
        let mut index = Index::load(&self.dir)?;
        index.intents.retain(|i| i.key() != intent.key());
        index.intents.push(intent);
        index.save(&self.dir)?;
        Ok(index)
    }

    /// Finishes or undoes what killed commands left: intents in the index, temp files in the
    /// directory. Cheap when there is nothing to do (one small read, one listing).
    pub(super) fn recover(&self, index: Option<Index>) -> Result<(), StoreError> {
        // A damaged or unreadable index is reported by the commands that need it; a cache-hit
        // `get` reads only the backend and keeps working.
        let Some(index) = index else {
            return Ok(());
        };
        if !index.needs_recovery() && !self.has_temps() {
            return Ok(());
        }
        let _lock = self.lock()?;
        self.sweep_temps();
        let mut index = Index::load(&self.dir)?;
        if !index.needs_recovery() {
            return Ok(());
        }
        for intent in std::mem::take(&mut index.intents) {
            if !self.recover_intent(&mut index, &intent)? {
                index.intents.push(intent);
            }
        }
        index.save(&self.dir)
    }

    /// One intent; `false` when it must wait (its keychain is unreachable from here).
    pub(super) fn recover_intent(
        &self,
        index: &mut Index,
        intent: &Intent,
    ) -> Result<bool, StoreError> {
        let file = FileBackend::new(&self.dir);
        let in_keychain = |backend: &str| backend == BackendKind::Keyring.as_str();
        match intent {
            Intent::Put {
                key,
                server_url,
                username,
                backend,
                provisioned,
                pid,
            } => {
                let target: &dyn SecretBackend = if !in_keychain(backend) {
                    &file
                } else if self.backend.kind() == BackendKind::Keyring {
                    self.backend.as_ref()
                } else {
                    return Ok(false);
                };
                let slot = Slot::Registry(key.clone());
                let stored = target
                    .read(&slot)?
                    .and_then(|value| decode_record(&value, &slot).ok());
                if stored.is_some_and(|record| &record.username == username) {
                    crate::debug!("finishing an interrupted store of {key} (process {pid})");
                    complete_put(
                        index,
                        key,
                        server_url,
                        username.clone(),
                        target.kind(),
                        provisioned.as_deref().cloned(),
                    );
                } else {
                    crate::debug!("undoing an interrupted store of {key} (process {pid})");
                    if let Some(created) = provisioned {
                        index::note_lost_secret(index, key, created, *pid);
                    }
                }
                Ok(true)
            }
            Intent::Erase { key, pid } => {
                if self.unreachable_keychain.is_some() {
                    return Ok(false);
                }
                crate::debug!("finishing an interrupted erase of {key} (process {pid})");
                self.remove_everywhere(&Slot::Registry(key.clone()))?;
                Ok(true)
            }
        }
    }

    /// Temp files left by a killed write of the index or the file store.
    pub(super) fn has_temps(&self) -> bool {
        self.state_files()
            .iter()
            .any(|path| !files::temps_of(path).is_empty())
    }

    /// Deletes them. Only under the store lock, which every writer of these files holds.
    pub(super) fn sweep_temps(&self) {
        for path in self.state_files() {
            let removed = files::remove_stale_temps(&path);
            if removed > 0 {
                crate::debug!(
                    "removed {removed} temp file(s) a killed write of {} left",
                    path.display()
                );
            }
        }
    }

    pub(super) fn state_files(&self) -> [PathBuf; 2] {
        [
            Index::path(&self.dir),
            FileBackend::new(&self.dir).path().to_path_buf(),
        ]
    }
}

/// The index after a successful backend write: the entry, and no marker for the credential
/// now in use.
pub(super) fn complete_put(
    index: &mut Index,
    key: &str,
    server_url: &str,
    username: String,
    backend: BackendKind,
    provisioned: Option<Provisioned>,
) {
    if let Some(created) = &provisioned {
        index.unfinished.retain(|marker| !marker.is(created));
    }
    index.entries.insert(
        key.to_string(),
        IndexEntry {
            server_url: server_url.to_string(),
            username,
            backend: backend.as_str().to_string(),
            provisioned,
        },
    );
}
