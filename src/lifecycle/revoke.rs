//! `revoke`: deletes the remote credential this install uses for a registry, then the local
//! copy. The order is the promise: the local copy goes only once the API has deleted the
//! credential (or said it was already gone); after any other answer it stays, and the error
//! says why. Runs under the provisioning lock, so no `get` replaces the credential meanwhile.
//! Never prints a secret or the API key.

use super::{LifecycleError, full_client, ours};
use crate::config::Config;
use crate::lock::FileLock;
use crate::provision::PROVISION_LOCK;
use crate::store::Store;

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub key: String,
    pub id: String,
    pub username: String,
    pub project_id: String,
    /// The API said it no longer existed; only the local copy was erased.
    pub already_gone: bool,
}

/// Deletes `key`'s credential remotely, then locally.
pub fn revoke(config: &Config, store: &Store, key: &str) -> Result<Revoked, LifecycleError> {
    let _lock = FileLock::acquire(
        &config.dir.join(PROVISION_LOCK),
        config.lock_timeout,
        &format!("revoking the Deepgram credential for {key}"),
    )?;
    let (username, meta) = ours(config, store, key)?;
    let client = full_client(config, store)?;
    let already_gone = match client.delete_credential(&meta.project_id, &meta.id) {
        Ok(deleted) => !deleted,
        Err(source) => {
            return Err(LifecycleError::DeleteFailed {
                id: meta.id,
                key: key.to_string(),
                source: Box::new(source),
            });
        }
    };
    store.erase(key)?;
    store.update_index(|index| index.to_delete.retain(|old| old.id != meta.id))?;
    Ok(Revoked {
        key: key.to_string(),
        id: meta.id,
        username,
        project_id: meta.project_id,
        already_gone,
    })
}
