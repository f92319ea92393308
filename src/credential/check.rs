//! `get`'s due check: self-healing (`revalidate_after`), automatic rotation (`rotate_after`),
//! and the deletion of retired credentials whose grace has passed.
//!
//! The hot path stays a store read: [`stored`] decides from the non-secret index alone
//! whether anything is due; a `get` with nothing due builds no HTTP client and makes no
//! request. A due check asks the API for that credential by id, within
//! [`super::CHECK_TIME_LIMIT`]. Only the API's own "not found", confirmed by the project's
//! list, proves it gone ([`confirmed_presence`], which `doctor` uses too): then, under the
//! provisioning lock, the local copy is erased (only if it is still that credential) and a new
//! one is created exactly once across processes. Any other outcome (no network, timeout, 401,
//! 403, 5xx, an unreadable answer) proves nothing: the stored credential is answered and no
//! check is made for [`RETRY_CHECK_AFTER`].
//!
//! Rotation cannot loop: a credential's age starts at the later of the API's `created` and the
//! time this install stored it, so no clock (skewed, or a stale `created`) makes a fresh one
//! look old; a failed automatic rotation waits [`RETRY_CHECK_AFTER`], doubling with each
//! failure; and while an earlier ambiguous create for the registry is unresolved, the due get
//! first resolves it (one list; its orphan is deleted) instead of creating another, so a slow
//! API costs at most one extra credential. Never prints, logs or stores a secret.

use std::time::Duration;

use super::create;
use super::session::{Locked, Purpose, Session};
use super::{Answer, CredentialError, How, Outcome, ours, retire, rotate};
use crate::config::Provision;
use crate::deepgram::{ApiError, Client, CredentialInfo};
use crate::store::StoredCredential;
use crate::store::index::{Index, Provisioned, unix_now};

/// After a check that proved nothing, none is made for this long; a failed automatic rotation
/// waits this long, doubled for each failure before it.
pub const RETRY_CHECK_AFTER: Duration = Duration::from_secs(60);
/// The longest wait between automatic rotation attempts.
const MAX_ROTATION_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// The answer for `credential`, just read from the store for `key`: itself, unless a check or
/// rotation is due (see the module header).
pub(super) fn stored(
    session: &Session,
    key: &str,
    credential: StoredCredential,
) -> Result<Outcome, CredentialError> {
    let hit = |credential| {
        Ok(Outcome::Served(Answer {
            credential,
            how: How::Hit,
        }))
    };
    match due(session, key, &credential) {
        Due::No => hit(credential),
        Due::Check(meta) => revalidate(session, key, credential, &meta),
        Due::Rotate(meta) => rotate_in_get(session, key, credential, &meta),
        Due::Resolve(meta) => {
            resolve_unfinished(session, key, &meta);
            hit(credential)
        }
        // Another process replaced the credential between our two reads: answer its new one,
        // which it has just checked (created).
        Due::Replaced => read_after_replacement(session, key),
    }
}

enum Due {
    No,
    Check(Provisioned),
    /// Older than `rotate_after`.
    Rotate(Provisioned),
    /// Rotation is due, but an earlier create for the registry ended ambiguously: resolve
    /// that first.
    Resolve(Provisioned),
    Replaced,
}

/// Whether `credential` (just read for `key`) is due for a check or rotation: only one this
/// install created at the configured API. One read of the index, none when checks are off.
fn due(session: &Session, key: &str, credential: &StoredCredential) -> Due {
    let config = &session.config;
    if config.revalidate_after.is_none() && config.rotate_after.is_none() {
        return Due::No;
    }
    let index = match session.store.index() {
        Ok(index) => index,
        Err(err) => {
            crate::debug!("no check: {err}");
            return Due::No;
        }
    };
    // Every stored credential has an entry naming its username (`Store::put`): a missing or
    // different one means another process is replacing it right now.
    if index
        .entries
        .get(key)
        .is_none_or(|entry| entry.username != credential.username)
    {
        return Due::Replaced;
    }
    let now = unix_now();
    let Some(meta) = provisioned_here(&index, session, key) else {
        crate::debug!("no check due for {key}: not created here");
        return Due::No;
    };
    if is_rotation_due(&meta, config.rotate_after, now) {
        let unresolved = index.unfinished.iter().any(|marker| marker.key == key);
        return if unresolved {
            Due::Resolve(meta)
        } else {
            Due::Rotate(meta)
        };
    }
    if config
        .revalidate_after
        .is_some_and(|every| is_due(&meta, every, now))
    {
        return Due::Check(meta);
    }
    crate::debug!("no check due for {key}: {meta:?}");
    Due::No
}

/// The metadata of the credential stored for `key`, if this install created it at the
/// configured API (one made elsewhere cannot be checked there).
fn provisioned_here(index: &Index, session: &Session, key: &str) -> Option<Provisioned> {
    let meta = index.entries.get(key)?.provisioned.clone()?;
    (meta.api_url == session.config.api_url.as_str()).then_some(meta)
}

fn is_due(meta: &Provisioned, every: Duration, now: u64) -> bool {
    let since = |at: Option<u64>| at.map(|at| now.saturating_sub(at));
    let checked_long_ago = since(meta.checked_at).is_none_or(|age| age >= every.as_secs());
    let failed_recently =
        since(meta.check_failed_at).is_some_and(|age| age < RETRY_CHECK_AFTER.as_secs());
    checked_long_ago && !failed_recently
}

/// The credential's age for `rotate_after`: from the later of the API's `created` and the
/// time this install stored it, so that neither a skewed clock nor a stale `created` makes a
/// credential this install just stored look old.
pub fn age(meta: &Provisioned, now: u64) -> Option<u64> {
    let created = meta.created.as_deref().and_then(crate::rfc3339::parse);
    let born = created.max(meta.stored_at)?;
    Some(now.saturating_sub(born))
}

/// How long after a failed automatic rotation the next one may be tried.
fn rotation_backoff(failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(16);
    (RETRY_CHECK_AFTER.as_secs() << doublings).min(MAX_ROTATION_BACKOFF.as_secs())
}

/// Whether `meta`'s credential is older than `rotate_after`, and the back-off of failed
/// rotations has run out.
fn is_rotation_due(meta: &Provisioned, rotate_after: Option<Duration>, now: u64) -> bool {
    let (Some(max_age), Some(age)) = (rotate_after, age(meta, now)) else {
        return false;
    };
    let waiting = meta.check_failed_at.is_some_and(|at| {
        let wait = if meta.rotation_failures > 0 {
            rotation_backoff(meta.rotation_failures)
        } else {
            RETRY_CHECK_AFTER.as_secs()
        };
        now.saturating_sub(at) < wait
    });
    age >= max_age.as_secs() && !waiting
}

/// `get`'s rotation of a credential older than `rotate_after`. Any failure answers the stored
/// credential (with a warning) and backs off (see [`rotation_backoff`]).
fn rotate_in_get(
    session: &Session,
    key: &str,
    credential: StoredCredential,
    meta: &Provisioned,
) -> Result<Outcome, CredentialError> {
    let attempt = || -> Result<Option<rotate::Rotated>, CredentialError> {
        let locked = session.lock(&format!("rotating the Deepgram credential for {key}"))?;
        match ours(&locked, key) {
            Ok((_, current)) if current.id == meta.id => {
                rotate::rotate_locked(&locked, key, &current).map(Some)
            }
            // Another process rotated it while we waited.
            _ => Ok(None),
        }
    };
    match attempt() {
        Ok(Some(rotated)) => {
            crate::warn!(
                "rotated Deepgram credential {} for {key} (older than rotate_after): now {}; {}",
                rotated.old_id,
                rotated.new_id,
                rotated.old_fate()
            );
            Ok(Outcome::Served(Answer {
                credential: rotated.credential,
                how: How::Rotated { id: rotated.new_id },
            }))
        }
        Ok(None) => Ok(Outcome::Served(Answer {
            credential: session.store.get(key)?.unwrap_or(credential),
            how: How::Waited,
        })),
        Err(err) => {
            crate::warn!(
                "could not rotate Deepgram credential {} for {key} ({err}); answering it as before, next try in {}s",
                meta.id,
                rotation_backoff(meta.rotation_failures + 1)
            );
            note_rotation_failed(session, key, &meta.id);
            Ok(Outcome::Served(Answer {
                credential,
                how: How::Hit,
            }))
        }
    }
}

/// An earlier create for `key` may have left a credential in the project: under the lock, one
/// list finds it (by its comment or id) and deletes it, or shows it never landed; either way
/// its marker and the remembered failure go. Best effort: a failure is a warning, and the
/// rotation waits as after a failed one.
fn resolve_unfinished(session: &Session, key: &str, meta: &Provisioned) {
    let result = session
        .lock(&format!("resolving an unfinished create for {key}"))
        .map_err(CredentialError::from)
        .and_then(|locked| {
            let client = locked.client(Purpose::Check)?;
            super::prune::resolve_orphans(&locked, client, &meta.project_id, Some(key))
        });
    match result {
        Ok(resolved) => crate::warn!(
            "an earlier create for {key} had not finished: {resolved}; the rotation follows on a later get"
        ),
        Err(err) => crate::warn!(
            "could not resolve an earlier unfinished create for {key} ({err}); the rotation waits"
        ),
    }
    note_rotation_failed(session, key, &meta.id);
}

/// Asks the API whether the stored credential still exists, acts on the one answer that
/// proves anything, and deletes retired credentials whose grace has passed.
fn revalidate(
    session: &Session,
    key: &str,
    credential: StoredCredential,
    meta: &Provisioned,
) -> Result<Outcome, CredentialError> {
    let hit = |credential| {
        Ok(Outcome::Served(Answer {
            credential,
            how: How::Hit,
        }))
    };
    if session.api_key()?.is_none() {
        crate::debug!("no API key: cannot check Deepgram credential {}", meta.id);
        return hit(credential);
    }
    let answer = match session.client(Purpose::Check) {
        Ok(client) => confirmed_presence(client, meta).map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    };
    match answer {
        Ok(Some(_)) => {
            crate::debug!("Deepgram credential {} still exists", meta.id);
            note_check(session, key, &meta.id, true);
            retire::delete_expired(session);
            hit(credential)
        }
        Ok(None) => replace_gone(session, key, &meta.id),
        Err(err) => {
            crate::debug!(
                "could not check Deepgram credential {} ({err}); answering the stored one, next check in {}s",
                meta.id,
                RETRY_CHECK_AFTER.as_secs()
            );
            note_check(session, key, &meta.id, false);
            hit(credential)
        }
    }
}

/// Asks for the credential by id; a "not found" is believed only when the project's list,
/// asked right after, does not show it either: a 404 for a whole route (an `api_path` the
/// API does not serve) must never erase a working credential. `Ok(None)`: proven gone.
pub fn confirmed_presence(
    client: &Client,
    meta: &Provisioned,
) -> Result<Option<CredentialInfo>, ApiError> {
    if let Some(found) = client.get_credential(&meta.project_id, &meta.id)? {
        return Ok(Some(found));
    }
    let listed = client.list_credentials(&meta.project_id)?;
    Ok(listed.into_iter().find(|info| info.id == meta.id))
}

/// Records a check of credential `id` for `key` (best effort: a failure only means an earlier
/// next check).
fn note_check(session: &Session, key: &str, id: &str, confirmed: bool) {
    let now = unix_now();
    update_meta(session, key, id, |meta| {
        if confirmed {
            meta.checked_at = Some(now);
            meta.check_failed_at = None;
        } else {
            meta.check_failed_at = Some(now);
        }
    });
}

/// Records a failed automatic rotation of `id`: the next waits longer.
fn note_rotation_failed(session: &Session, key: &str, id: &str) {
    let now = unix_now();
    update_meta(session, key, id, |meta| {
        meta.check_failed_at = Some(now);
        meta.rotation_failures = meta.rotation_failures.saturating_add(1);
    });
}

fn update_meta(session: &Session, key: &str, id: &str, change: impl FnOnce(&mut Provisioned)) {
    let result = session.store.update_index(|index| {
        let meta = index
            .entries
            .get_mut(key)
            .and_then(|entry| entry.provisioned.as_mut())
            .filter(|meta| meta.id == id);
        if let Some(meta) = meta {
            change(meta);
        }
    });
    if let Err(err) = result {
        crate::debug!("cannot record the check of {id}: {err}");
    }
}

/// The API says credential `gone` no longer exists. Under one hold of the provisioning lock:
/// its local copy goes (unless another process already replaced it), and fetch-or-create
/// makes the new one, exactly once across processes.
fn replace_gone(session: &Session, key: &str, gone: &str) -> Result<Outcome, CredentialError> {
    let locked = session.lock(&format!(
        "replacing the deleted Deepgram credential for {key}"
    ))?;
    let store = &locked.store;
    let index = store.index()?;
    let still_gone = index
        .entries
        .get(key)
        .and_then(|entry| entry.provisioned.as_ref())
        .is_some_and(|meta| meta.id == gone);
    if !still_gone {
        // Another process replaced it while we waited.
        return Ok(match store.get(key)? {
            Some(credential) => Outcome::Served(Answer {
                credential,
                how: How::Waited,
            }),
            None => create::fetch_or_create_locked(&locked, key)?,
        });
    }
    store.erase(key)?;
    crate::warn!(
        "Deepgram credential {gone} for {key} no longer exists (deleted in the Console or by another tool): erased the local copy"
    );
    let config = &locked.config;
    if config.provision == Provision::Never || !config.is_provisioning_registry(key) {
        return Ok(Outcome::NotProvisioned);
    }
    heal(&locked, key)
}

/// Creates the replacement of a credential proven gone, and says so with its id.
fn heal(locked: &Locked, key: &str) -> Result<Outcome, CredentialError> {
    match create::fetch_or_create_locked(locked, key)? {
        Outcome::Served(Answer {
            credential,
            how: How::Created { id },
        }) => {
            crate::warn!("created Deepgram credential {id} for {key} in its place");
            Ok(Outcome::Served(Answer {
                credential,
                how: How::Healed { id },
            }))
        }
        other => Ok(other),
    }
}

/// The store changed between our reads of the secret and of the index: another process is
/// replacing the credential. Its provisioning lock is waited for, then the store read again.
fn read_after_replacement(session: &Session, key: &str) -> Result<Outcome, CredentialError> {
    let locked = session.lock(&format!(
        "waiting for another process replacing the credential for {key}"
    ))?;
    if let Some(credential) = locked.store.get(key)? {
        return Ok(Outcome::Served(Answer {
            credential,
            how: How::Waited,
        }));
    }
    drop(locked);
    create::fetch_or_create(session, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(checked_at: Option<u64>, check_failed_at: Option<u64>) -> Provisioned {
        Provisioned {
            id: "id".into(),
            project_id: "p".into(),
            api_url: "https://api.deepgram.com".into(),
            created: None,
            scopes: vec![],
            comment: None,
            checked_at,
            check_failed_at,
            stored_at: None,
            rotation_failures: 0,
        }
    }

    #[test]
    fn rotation_is_due_by_the_api_created_time() {
        let mut old = meta(None, None);
        old.created = Some("2023-06-28T15:36:59Z".into());
        let now = 1_687_966_619 + 90 * 86_400;
        let ninety_days = Some(Duration::from_secs(90 * 86_400));
        assert!(is_rotation_due(&old, ninety_days, now));
        assert!(!is_rotation_due(&old, ninety_days, now - 1));
        assert!(!is_rotation_due(&old, None, now));
        old.check_failed_at = Some(now - 5);
        assert!(!is_rotation_due(&old, ninety_days, now));
        old.created = None;
        old.check_failed_at = None;
        assert!(!is_rotation_due(&old, ninety_days, now));
    }

    #[test]
    fn a_stale_created_time_never_makes_a_credential_stored_here_look_old() {
        let mut fresh = meta(None, None);
        fresh.created = Some("2001-01-01T00:00:00Z".into());
        let now = 1_800_000_000;
        fresh.stored_at = Some(now - 60);
        let ninety_days = Some(Duration::from_secs(90 * 86_400));
        assert!(!is_rotation_due(&fresh, ninety_days, now));
        assert!(is_rotation_due(&fresh, ninety_days, now + 90 * 86_400));
        // A created time in the future (a skewed server clock) is the later one.
        fresh.created = Some("2030-01-01T00:00:00Z".into());
        assert!(!is_rotation_due(&fresh, ninety_days, now + 90 * 86_400));
    }

    #[test]
    fn failed_rotations_back_off_exponentially() {
        let mut old = meta(None, None);
        old.stored_at = Some(0);
        let now = 10_000_000;
        let zero = Some(Duration::ZERO);
        old.check_failed_at = Some(now - 61);
        old.rotation_failures = 1;
        assert!(is_rotation_due(&old, zero, now));
        old.rotation_failures = 2;
        assert!(!is_rotation_due(&old, zero, now));
        old.check_failed_at = Some(now - 120);
        assert!(is_rotation_due(&old, zero, now));
        assert_eq!(rotation_backoff(30), MAX_ROTATION_BACKOFF.as_secs());
    }

    #[test]
    fn a_check_is_due_after_revalidate_after_and_not_within_a_minute_of_a_failed_one() {
        let hour = Duration::from_secs(3600);
        let now = 100_000;
        assert!(is_due(&meta(None, None), hour, now));
        assert!(!is_due(&meta(Some(now - 10), None), hour, now));
        assert!(is_due(&meta(Some(now - 3600), None), hour, now));
        assert!(!is_due(&meta(Some(now - 7200), Some(now - 59)), hour, now));
        assert!(is_due(&meta(Some(now - 7200), Some(now - 60)), hour, now));
        // `0s`: every get, except within a minute of a check that proved nothing.
        assert!(is_due(&meta(Some(now), None), Duration::ZERO, now));
        assert!(!is_due(&meta(Some(now), Some(now)), Duration::ZERO, now));
    }
}
