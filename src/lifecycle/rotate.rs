//! `rotate` and `rotate_after`: replaces the credential this install uses for a registry with a
//! new one, then deletes the old one remotely.
//!
//! The registry is never left without a working stored credential: under the provisioning
//! lock, the new credential is created and stored first (a failed create leaves the old one in
//! place), and only then is the old one deleted. A failed delete records the old id as *to
//! delete* in the index (`status` shows it, `prune` removes it). Never prints a secret.

use super::{LifecycleError, full_client, ours};
use crate::config::Config;
use crate::lock::FileLock;
use crate::provision::{self, PROVISION_LOCK};
use crate::store::Store;
use crate::store::index::{Provisioned, ToDelete};

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub key: String,
    pub old_id: String,
    pub new_id: String,
    pub new_username: String,
    /// Why the old credential could not be deleted (it is kept as *to delete*).
    pub delete_failed: Option<String>,
    /// The API said the old one was already gone.
    pub already_gone: bool,
}

/// Rotates `key`'s credential (the `rotate` command).
pub fn rotate(config: &Config, store: &Store, key: &str) -> Result<Rotated, LifecycleError> {
    let _lock = FileLock::acquire(
        &config.dir.join(PROVISION_LOCK),
        config.lock_timeout,
        &format!("rotating the Deepgram credential for {key}"),
    )?;
    let (_, old) = ours(config, store, key)?;
    rotate_locked(config, store, key, &old)
}

/// The rotation itself; the caller holds the provisioning lock and has read `old` under it.
pub fn rotate_locked(
    config: &Config,
    store: &Store,
    key: &str,
    old: &Provisioned,
) -> Result<Rotated, LifecycleError> {
    let api_key = provision::api_key(store)?.ok_or(LifecycleError::NoApiKey)?;
    store.check_writable()?;
    let stored = provision::create(config, store, key, api_key)?;
    let new_id = store
        .index()?
        .entries
        .get(key)
        .and_then(|entry| entry.provisioned.as_ref())
        .map(|meta| meta.id.clone())
        .unwrap_or_default();
    let mut rotated = Rotated {
        key: key.to_string(),
        old_id: old.id.clone(),
        new_id,
        new_username: stored.username,
        delete_failed: None,
        already_gone: false,
    };
    let deleted = full_client(config, store)
        .and_then(|client| Ok(client.delete_credential(&old.project_id, &old.id)?));
    match deleted {
        Ok(existed) => rotated.already_gone = !existed,
        Err(err) => {
            let reason = err.to_string();
            let entry = ToDelete {
                key: key.to_string(),
                id: old.id.clone(),
                project_id: old.project_id.clone(),
                api_url: old.api_url.clone(),
                comment: old.comment.clone(),
                created: old.created.clone(),
                reason: reason.clone(),
            };
            store.update_index(|index| {
                index.to_delete.retain(|t| t.id != entry.id);
                index.to_delete.push(entry);
            })?;
            rotated.delete_failed = Some(reason);
        }
    }
    Ok(rotated)
}
