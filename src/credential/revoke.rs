//! `revoke`: deletes the remote credential this install uses for a registry, then the local
//! copy. The order is the promise: the local copy goes only once the API has deleted the
//! credential (or said it was already gone); after any other answer it stays, and the error
//! says why. Runs under the provisioning lock, so no `get` replaces the credential meanwhile.
//! Never retires (a leaked secret must die now). [`revoke_all`] is `--uninstall --purge`:
//! every credential this install created (in use, retiring, to delete, orphans). Never prints
//! a secret or the API key.

use serde::Serialize;

use super::prune::{self, Doomed, Pruned};
use super::session::{Purpose, Session};
use super::{CredentialError, ours, resolve_project};

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

/// Deletes `key`'s credential remotely, then locally. `expected`: the id the person confirmed;
/// if another process replaced it since, nothing is deleted and the error says so.
pub fn revoke(
    session: &Session,
    key: &str,
    expected: Option<&str>,
) -> Result<Revoked, CredentialError> {
    let locked = session.lock(&format!("revoking the Deepgram credential for {key}"))?;
    let (username, meta) = ours(&locked, key)?;
    if let Some(expected) = expected.filter(|id| *id != meta.id) {
        return Err(CredentialError::Changed {
            key: key.to_string(),
            confirmed: expected.to_string(),
            now: meta.id,
        });
    }
    let client = locked.client(Purpose::Act)?;
    let already_gone = match client.delete_credential(&meta.project_id, &meta.id) {
        Ok(deleted) => !deleted,
        Err(source) => {
            return Err(CredentialError::DeleteFailed {
                id: meta.id,
                key: key.to_string(),
                source: Box::new(source),
            });
        }
    };
    locked.store.erase(key)?;
    locked
        .store
        .update_index(|index| index.to_delete.retain(|old| old.id != meta.id))?;
    Ok(Revoked {
        key: key.to_string(),
        id: meta.id,
        username,
        project_id: meta.project_id,
        already_gone,
    })
}

/// What [`revoke_all`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RevokedAll {
    pub planned: Vec<Doomed>,
    #[serde(flatten)]
    pub pruned: Pruned,
    /// Registries whose local copy was erased.
    pub erased: Vec<String>,
}

/// Every credential this install created through the configured API: the ones in use (then
/// their local copies), the retiring and *to delete* ones, and its orphans, whatever their
/// grace. A local copy goes only when its remote credential is gone.
pub fn revoke_all(session: &Session) -> Result<RevokedAll, CredentialError> {
    let locked = session.lock("deleting every Deepgram credential of this install")?;
    let client = locked.client(Purpose::Act)?;
    let index = locked.store.index()?;
    let mut planned = prune::plan(&locked, client, None)?;
    let now = crate::store::index::unix_now();
    for old in index.to_delete.iter().filter(|t| t.is_retiring(now)) {
        if old.api_url == locked.config.api_url.as_str() && !super::retire::is_current(&index, old)
        {
            planned.push(Doomed {
                id: old.id.clone(),
                project_id: old.project_id.clone(),
                comment: old.comment.clone(),
                created: old.created.clone(),
                reason: "retired",
            });
        }
    }
    let mut in_use = Vec::new();
    for (key, entry) in &index.entries {
        let Some(meta) = &entry.provisioned else {
            continue;
        };
        if meta.api_url == locked.config.api_url.as_str() {
            in_use.push((key.clone(), meta.id.clone()));
            planned.push(Doomed {
                id: meta.id.clone(),
                project_id: meta.project_id.clone(),
                comment: meta.comment.clone(),
                created: meta.created.clone(),
                reason: "in use",
            });
        }
    }
    if planned.is_empty() {
        // Still proves the key works, so "nothing to delete" is not a guess.
        resolve_project(&locked.config, client)?;
    }
    let pruned = prune::execute(&locked, client, &planned)?;
    let mut erased = Vec::new();
    for (key, id) in in_use {
        if pruned.deleted.contains(&id) || pruned.already_gone.contains(&id) {
            locked.store.erase(&key)?;
            erased.push(key);
        }
    }
    Ok(RevokedAll {
        planned,
        pruned,
        erased,
    })
}
