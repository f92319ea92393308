//! The grace period of a credential this install stops using (`rotate_grace`).
//!
//! A rotated credential (by `rotate` or `rotate_after`) and one forgotten by `erase` have
//! copies this install does not control: the pull secret `export` wrote into a cluster, the
//! kubelet's cache of the plugin's answer. So it is not deleted at once but *retired*: recorded
//! in the index with its deadline (now + `rotate_grace`, and in a kubelet's config dir never
//! less than the `cacheDuration` the plugin answers), shown by `status`, `status --remote` and
//! `doctor`, and deleted by the first due `get` after the deadline, or by `prune`. With
//! `rotate_grace = 0s` a rotation deletes the old one at once. `erase` only records (it stays
//! local and fast); `revoke` never retires (a leaked secret must die now).

use std::time::Duration;

use serde::Serialize;

use super::session::{Locked, Purpose, Session};
use crate::store::StoreError;
use crate::store::index::{Index, IndexEntry, Provisioned, ToDelete, unix_now};

/// The most retired credentials one `get` deletes, so that a pull is never held long.
const MAX_DELETES_PER_GET: usize = 3;

/// What became of a credential this install stopped using.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fate {
    /// Deleted remotely.
    Deleted,
    /// The API said it was already gone.
    AlreadyGone,
    /// Live until `until` (Unix seconds), then deleted.
    Retiring { until: u64 },
    /// The delete failed; recorded as *to delete* (`prune` removes it).
    ToDelete { reason: String },
}

impl Fate {
    /// What became of credential `id`, in words.
    pub fn describe(&self, id: &str) -> String {
        match self {
            Fate::Deleted => format!("deleted the old credential {id}"),
            Fate::AlreadyGone => format!("the old credential {id} was already gone"),
            Fate::Retiring { until } => format!(
                "the old credential {id} stays live until {} (rotate_grace) so that copies of it keep working, then a due get or `docker-credential-deepgram prune` deletes it",
                crate::rfc3339::format(*until)
            ),
            Fate::ToDelete { reason } => format!(
                "the old credential {id} could not be deleted ({reason}); it is kept as to delete: `docker-credential-deepgram prune` removes it"
            ),
        }
    }
}

/// How long a retired credential stays live here: `rotate_grace`, and never less than the
/// kubelet's cache when this config dir answers the kubelet (0 stays 0: deletion at once is
/// asked for explicitly).
pub fn grace(session: &Session, index: &Index) -> Duration {
    let configured = session.config.rotate_grace;
    if configured.is_zero() {
        return configured;
    }
    let kubelet = Duration::from_secs(index.kubelet_cache_secs.unwrap_or(0));
    configured.max(kubelet)
}

/// The record of `old`, no longer used for `key`, to delete after `delete_after`.
fn record(key: &str, old: &Provisioned, reason: &str, delete_after: Option<u64>) -> ToDelete {
    ToDelete {
        key: key.to_string(),
        id: old.id.clone(),
        project_id: old.project_id.clone(),
        api_url: old.api_url.clone(),
        comment: old.comment.clone(),
        created: old.created.clone(),
        reason: reason.to_string(),
        delete_after,
    }
}

fn keep_record(index: &mut Index, entry: ToDelete) {
    index.to_delete.retain(|t| t.id != entry.id);
    index.to_delete.push(entry);
}

/// The first step of a rotation, before the create: `old` is recorded as retiring with its
/// deadline, so that a crash between storing the new credential and retiring the old one
/// leaves nothing untracked. A record naming the credential in use is never acted on (see
/// [`is_current`]), so this is safe if the create then fails; [`cancel`] removes it.
/// Returns the deadline.
pub(super) fn intend(locked: &Locked, key: &str, old: &Provisioned) -> Result<u64, StoreError> {
    let grace = grace(locked, &locked.store.index()?);
    let until = unix_now().saturating_add(grace.as_secs());
    let entry = record(key, old, "retiring (rotated)", Some(until));
    locked
        .store
        .update_index(|index| keep_record(index, entry))?;
    Ok(until)
}

/// The rotation did not happen: `old` stays in use, its record goes (best effort: a record
/// left behind names the credential in use and is never acted on).
pub(super) fn cancel(locked: &Locked, old: &Provisioned) {
    if let Err(err) = locked
        .store
        .update_index(|index| index.to_delete.retain(|t| t.id != old.id))
    {
        crate::debug!("cannot remove the retiring record of {}: {err}", old.id);
    }
}

/// Whether record `old` names a credential stored here now (a rotation that was recorded
/// and then failed or was killed): never deleted, never shown as retiring.
pub fn is_current(index: &Index, old: &ToDelete) -> bool {
    index
        .entries
        .values()
        .filter_map(|entry| entry.provisioned.as_ref())
        .any(|meta| meta.id == old.id)
}

/// Retires `old`, just replaced for `key` and recorded by [`intend`] with deadline `until`:
/// with a grace it stays live until then; with none it is deleted at once.
pub(super) fn retire(locked: &Locked, key: &str, old: &Provisioned, until: u64) -> Fate {
    if until > unix_now() {
        return Fate::Retiring { until };
    }
    let deleted = locked
        .client(Purpose::Act)
        .and_then(|client| Ok(client.delete_credential(&old.project_id, &old.id)?));
    match deleted {
        Ok(existed) => {
            cancel(locked, old);
            if existed {
                Fate::Deleted
            } else {
                Fate::AlreadyGone
            }
        }
        Err(err) => {
            let reason = err.to_string();
            let entry = record(key, old, &reason, None);
            if let Err(err) = locked.store.update_index(|index| keep_record(index, entry)) {
                crate::warn!("cannot record {} as to delete: {err}", old.id);
            }
            Fate::ToDelete { reason }
        }
    }
}

/// `erase`: the local copy goes, and a credential this install created is recorded as
/// retiring in the same index write (no request: `erase` stays local and fast).
pub fn erase(session: &Session, key: &str) -> Result<bool, StoreError> {
    let now = unix_now();
    let grace = session
        .store
        .index()
        .map(|index| grace(session, &index))
        .unwrap_or(session.config.rotate_grace);
    session.store.erase_with(key, |index, entry: IndexEntry| {
        if let Some(old) = entry.provisioned {
            let until = now.saturating_add(grace.as_secs());
            keep_record(index, record(key, &old, "retiring (erased)", Some(until)));
        }
    })
}

/// After a due check that reached the API: deletes retired credentials whose grace has
/// passed (a few at most, under the lock, with the check's time limit). Best effort: a failure
/// leaves them for the next due `get` or `prune`.
pub(super) fn delete_expired(session: &Session) {
    let now = unix_now();
    let api_url = session.config.api_url.as_str();
    let expired = |index: &Index| {
        index
            .to_delete
            .iter()
            .any(|t| t.api_url == api_url && !t.is_retiring(now) && !is_current(index, t))
    };
    if !session.store.index().is_ok_and(|index| expired(&index)) {
        return;
    }
    let Ok(locked) = session.lock("deleting retired Deepgram credentials") else {
        return;
    };
    let Ok(index) = locked.store.index() else {
        return;
    };
    let Ok(client) = locked.client(Purpose::Check) else {
        return;
    };
    let due: Vec<&ToDelete> = index
        .to_delete
        .iter()
        .filter(|t| t.api_url == api_url && !t.is_retiring(now) && !is_current(&index, t))
        .take(MAX_DELETES_PER_GET)
        .collect();
    let mut gone = Vec::new();
    for old in due {
        match client.delete_credential(&old.project_id, &old.id) {
            Ok(_) => {
                crate::warn!(
                    "deleted Deepgram credential {} (retired for {}, its grace has passed)",
                    old.id,
                    old.key
                );
                gone.push(old.id.clone());
            }
            Err(err) => crate::debug!("could not delete retired credential {}: {err}", old.id),
        }
    }
    if !gone.is_empty()
        && let Err(err) = locked
            .store
            .update_index(|index| index.to_delete.retain(|t| !gone.contains(&t.id)))
    {
        crate::warn!("deleted retired credentials but cannot record it: {err}");
    }
}

/// The kubelet mode answered `cache`: retired credentials of this config dir stay live at
/// least that long. Written only when it changes.
pub fn note_kubelet_cache(session: &Session, cache: Duration) {
    let secs = cache.as_secs();
    if session
        .store
        .index()
        .is_ok_and(|index| index.kubelet_cache_secs == Some(secs))
    {
        return;
    }
    if let Err(err) = session
        .store
        .update_index(|index| index.kubelet_cache_secs = Some(secs))
    {
        crate::debug!("cannot record the kubelet's cache duration: {err}");
    }
}
