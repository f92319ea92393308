//! The remote life of a credential this install created, beside `provision`: `get`'s
//! self-healing check (`revalidate_after`) and what follows when the API says the credential is
//! gone (here), `revoke`, `rotate` and `prune` (submodules). The commands that print live in
//! `cmd/`; this module returns what happened as values.
//!
//! The hot path stays a store read: [`credential`] reads the store, then decides from the
//! non-secret index alone whether a check is due; a `get` whose check is not due builds no
//! HTTP client and makes no request. A due check asks the API for that credential by id,
//! within [`CHECK_TIME_LIMIT`]. Only the API's own "not found", confirmed by the project's list,
//! proves it gone: then, under the
//! provisioning lock, the local copy is erased (only if it is still that credential) and a new
//! one is created exactly once across processes, by `provision`'s fetch-or-create. Any other
//! outcome (no network, timeout, 401, 403, 5xx, an unreadable answer) proves nothing: the
//! stored credential is answered and no check is made for [`RETRY_CHECK_AFTER`].
//! Never prints, logs or stores a secret or the API key.

pub mod prune;
pub mod remote;
pub mod revoke;
pub mod rotate;

use std::time::Duration;

use crate::config::{Config, Provision};
use crate::deepgram::{ApiError, Client, Timeouts};
use crate::lock::FileLock;
use crate::provision::{self, Outcome, PROVISION_LOCK, ProvisionError};
use crate::secret::Secret;
use crate::store::index::{Index, Provisioned, unix_now};
use crate::store::{Store, StoredCredential};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "no Deepgram API key: set {} or run `docker-credential-deepgram login`",
        crate::env::DEEPGRAM_API_KEY
    )]
    NoApiKey,
    #[error("nothing is stored for {key}: there is no credential to act on")]
    NothingStored { key: String },
    #[error(
        "the credential stored for {key} was not created by docker-credential-deepgram (it came from `docker login` or an older version), so it has no Deepgram id: delete it in the Console if it is one; `docker logout {key}` erases the local copy"
    )]
    NotOurs { key: String },
    #[error(
        "the credential stored for {key} was created through {api_url}, not the configured api_url {configured}: set api_url back to act on it"
    )]
    OtherApi {
        key: String,
        api_url: String,
        configured: String,
    },
    #[error(
        "could not delete Deepgram credential {id} for {key}: {source}; the local copy is kept"
    )]
    DeleteFailed {
        id: String,
        key: String,
        source: Box<ApiError>,
    },
    #[error(transparent)]
    Api(Box<ApiError>),
    #[error(transparent)]
    Provision(Box<ProvisionError>),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<ApiError> for LifecycleError {
    fn from(err: ApiError) -> Self {
        LifecycleError::Api(Box::new(err))
    }
}

impl From<ProvisionError> for LifecycleError {
    fn from(err: ProvisionError) -> Self {
        LifecycleError::Provision(Box::new(err))
    }
}

/// A client for the commands a person runs: the configured timeouts, an API key required.
pub fn full_client(config: &Config, store: &Store) -> Result<Client, LifecycleError> {
    let api_key = provision::api_key(store)?.ok_or(LifecycleError::NoApiKey)?;
    Ok(provision::api_client(
        config,
        api_key,
        Timeouts {
            connect: config.connect_timeout,
            request: config.request_timeout,
        },
    )?)
}

/// The username and metadata of the credential stored for `key`, if this install created it
/// through the configured API; otherwise why not.
pub fn ours(
    config: &Config,
    store: &Store,
    key: &str,
) -> Result<(String, Provisioned), LifecycleError> {
    let index = store.index()?;
    let entry = index
        .entries
        .get(key)
        .ok_or_else(|| LifecycleError::NothingStored {
            key: key.to_string(),
        })?;
    let meta = entry
        .provisioned
        .clone()
        .ok_or_else(|| LifecycleError::NotOurs {
            key: key.to_string(),
        })?;
    if meta.api_url != config.api_url.as_str() {
        return Err(LifecycleError::OtherApi {
            key: key.to_string(),
            api_url: meta.api_url,
            configured: config.api_url.to_string(),
        });
    }
    Ok((entry.username.clone(), meta))
}

/// The registry a command acts on: `--registry` (normalised like `get`), else the first
/// provisioning registry.
pub fn target_key(config: &Config, registry: Option<&str>) -> String {
    match registry {
        Some(registry) => crate::registry::canonical(registry),
        None => config
            .registries
            .first()
            .cloned()
            .unwrap_or_else(|| crate::config::DEFAULT_REGISTRIES[0].to_string()),
    }
}

/// A check never holds a pull longer than this, whatever `connect_timeout` and
/// `request_timeout` say.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(2);
/// After a check that proved nothing, none is made for this long.
pub const RETRY_CHECK_AFTER: Duration = Duration::from_secs(60);

/// The credential for `key` (canonical), as `get` and the kubelet answer it: the stored one
/// (checked with the API when a check is due), else a newly provisioned one.
pub fn credential(config: &Config, store: &Store, key: &str) -> Result<Outcome, ProvisionError> {
    match store.get(key)? {
        Some(credential) => stored(config, store, key, credential),
        None => provision::fetch_or_create(config, store, key),
    }
}

/// The answer for `credential`, just read from the store for `key`: itself, unless a check or
/// rotation is due (see the module header).
pub fn stored(
    config: &Config,
    store: &Store,
    key: &str,
    credential: StoredCredential,
) -> Result<Outcome, ProvisionError> {
    match due_check(config, store, key, &credential) {
        Due::No => Ok(Outcome::Credential(credential)),
        Due::Check(meta) => revalidate(config, store, key, credential, &meta),
        Due::Rotate(meta) => rotate_in_get(config, store, key, credential, &meta),
        // Another process replaced the credential between our two reads: answer its new one,
        // which it has just checked (created).
        Due::Replaced => read_after_replacement(config, store, key),
    }
}

enum Due {
    No,
    Check(Provisioned),
    /// Older than `rotate_after`.
    Rotate(Provisioned),
    Replaced,
}

/// Whether `credential` (just read for `key`) is due for a check: only one this install
/// created at the configured API, `revalidate_after` after its last check, and not within
/// [`RETRY_CHECK_AFTER`] of one that proved nothing. One read of the index, none when checks
/// are off.
fn due_check(config: &Config, store: &Store, key: &str, credential: &StoredCredential) -> Due {
    if config.revalidate_after.is_none() && config.rotate_after.is_none() {
        return Due::No;
    }
    let index = match store.index() {
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
    match provisioned_here(&index, config, key) {
        Some(meta) if is_rotation_due(&meta, config.rotate_after, now) => Due::Rotate(meta),
        Some(meta)
            if config
                .revalidate_after
                .is_some_and(|every| is_due(&meta, every, now)) =>
        {
            Due::Check(meta)
        }
        meta => {
            crate::debug!("no check due for {key}: {meta:?}");
            Due::No
        }
    }
}

/// The metadata of the credential stored for `key`, if this install created it at the
/// configured API (one made elsewhere cannot be checked there).
fn provisioned_here(index: &Index, config: &Config, key: &str) -> Option<Provisioned> {
    let meta = index.entries.get(key)?.provisioned.clone()?;
    (meta.api_url == config.api_url.as_str()).then_some(meta)
}

fn is_due(meta: &Provisioned, every: Duration, now: u64) -> bool {
    let since = |at: Option<u64>| at.map(|at| now.saturating_sub(at));
    let checked_long_ago = since(meta.checked_at).is_none_or(|age| age >= every.as_secs());
    let failed_recently =
        since(meta.check_failed_at).is_some_and(|age| age < RETRY_CHECK_AFTER.as_secs());
    checked_long_ago && !failed_recently
}

/// Whether `meta`'s credential is older than `rotate_after` (by the API's `created`), and no
/// rotation failed within [`RETRY_CHECK_AFTER`].
fn is_rotation_due(meta: &Provisioned, rotate_after: Option<Duration>, now: u64) -> bool {
    let (Some(max_age), Some(created)) = (
        rotate_after,
        meta.created.as_deref().and_then(crate::rfc3339::parse),
    ) else {
        return false;
    };
    let failed_recently = meta
        .check_failed_at
        .is_some_and(|at| now.saturating_sub(at) < RETRY_CHECK_AFTER.as_secs());
    now.saturating_sub(created) >= max_age.as_secs() && !failed_recently
}

/// `get`'s rotation of a credential older than `rotate_after`. Any failure answers the stored
/// credential (with a warning) and is not tried again for [`RETRY_CHECK_AFTER`].
fn rotate_in_get(
    config: &Config,
    store: &Store,
    key: &str,
    credential: StoredCredential,
    meta: &Provisioned,
) -> Result<Outcome, ProvisionError> {
    let attempt = || -> Result<Option<rotate::Rotated>, LifecycleError> {
        let _lock = FileLock::acquire(
            &config.dir.join(PROVISION_LOCK),
            config.lock_timeout,
            &format!("rotating the Deepgram credential for {key}"),
        )?;
        match ours(config, store, key) {
            Ok((_, current)) if current.id == meta.id => {
                rotate::rotate_locked(config, store, key, &current).map(Some)
            }
            // Another process rotated it while we waited.
            _ => Ok(None),
        }
    };
    match attempt() {
        Ok(rotated) => {
            if let Some(rotated) = rotated {
                crate::warn!(
                    "rotated Deepgram credential {} for {key} (older than rotate_after): now {}{}",
                    rotated.old_id,
                    rotated.new_id,
                    match &rotated.delete_failed {
                        Some(reason) => format!(
                            "; the old one could not be deleted ({reason}) and is kept as to delete: `docker-credential-deepgram prune` removes it"
                        ),
                        None => String::new(),
                    }
                );
            }
            Ok(match store.get(key)? {
                Some(new) => Outcome::Credential(new),
                None => Outcome::Credential(credential),
            })
        }
        Err(err) => {
            crate::warn!(
                "could not rotate Deepgram credential {} for {key} ({err}); answering it as before, next try in {}s",
                meta.id,
                RETRY_CHECK_AFTER.as_secs()
            );
            note_check(store, key, &meta.id, false);
            Ok(Outcome::Credential(credential))
        }
    }
}

/// The client for a check: the configured one, held to [`CHECK_TIME_LIMIT`].
fn check_timeouts(config: &Config) -> Timeouts {
    Timeouts {
        connect: config.connect_timeout.min(CHECK_TIME_LIMIT),
        request: config.request_timeout.min(CHECK_TIME_LIMIT),
    }
}

/// Asks the API whether the stored credential still exists, and acts on the one answer that
/// proves anything.
fn revalidate(
    config: &Config,
    store: &Store,
    key: &str,
    credential: StoredCredential,
    meta: &Provisioned,
) -> Result<Outcome, ProvisionError> {
    let Some(api_key) = provision::api_key(store)? else {
        crate::debug!("no API key: cannot check Deepgram credential {}", meta.id);
        return Ok(Outcome::Credential(credential));
    };
    let answer = provision::api_client(config, api_key.clone(), check_timeouts(config))
        .and_then(|client| confirmed_presence(&client, meta));
    match answer {
        Ok(Some(_)) => {
            crate::debug!("Deepgram credential {} still exists", meta.id);
            note_check(store, key, &meta.id, true);
            Ok(Outcome::Credential(credential))
        }
        Ok(None) => replace_gone(config, store, key, &meta.id, api_key),
        Err(err) => {
            crate::debug!(
                "could not check Deepgram credential {} ({err}); answering the stored one, next check in {}s",
                meta.id,
                RETRY_CHECK_AFTER.as_secs()
            );
            note_check(store, key, &meta.id, false);
            Ok(Outcome::Credential(credential))
        }
    }
}

/// Asks for the credential by id; a "not found" is believed only when the project's list,
/// asked right after, does not show it either: a 404 for a whole route (an `api_path` the
/// API does not serve) must never erase a working credential.
fn confirmed_presence(
    client: &Client,
    meta: &Provisioned,
) -> Result<Option<crate::deepgram::CredentialInfo>, ApiError> {
    if let Some(found) = client.get_credential(&meta.project_id, &meta.id)? {
        return Ok(Some(found));
    }
    let listed = client.list_credentials(&meta.project_id)?;
    Ok(listed.into_iter().find(|info| info.id == meta.id))
}

/// Records a check of credential `id` for `key` (best effort: a failure only means an earlier
/// next check).
fn note_check(store: &Store, key: &str, id: &str, confirmed: bool) {
    let now = unix_now();
    let result = store.update_index(|index| {
        let meta = index
            .entries
            .get_mut(key)
            .and_then(|entry| entry.provisioned.as_mut())
            .filter(|meta| meta.id == id);
        if let Some(meta) = meta {
            if confirmed {
                meta.checked_at = Some(now);
                meta.check_failed_at = None;
            } else {
                meta.check_failed_at = Some(now);
            }
        }
    });
    if let Err(err) = result {
        crate::debug!("cannot record the check of {id}: {err}");
    }
}

/// The API says credential `gone` no longer exists. Under one hold of the provisioning lock:
/// its local copy goes (unless another process already replaced it), and fetch-or-create
/// makes the new one, exactly once across processes.
fn replace_gone(
    config: &Config,
    store: &Store,
    key: &str,
    gone: &str,
    api_key: Secret,
) -> Result<Outcome, ProvisionError> {
    let _lock = FileLock::acquire(
        &config.dir.join(PROVISION_LOCK),
        config.lock_timeout,
        &format!("replacing the deleted Deepgram credential for {key}"),
    )?;
    let index = store.index()?;
    let still_gone = index
        .entries
        .get(key)
        .and_then(|entry| entry.provisioned.as_ref())
        .is_some_and(|meta| meta.id == gone);
    if still_gone {
        store.erase(key)?;
        crate::warn!(
            "Deepgram credential {gone} for {key} no longer exists (deleted in the Console or by another tool): erased the local copy"
        );
    }
    if config.provision == Provision::Never || !config.is_provisioning_registry(key) {
        return Ok(match store.get(key)? {
            Some(credential) => Outcome::Credential(credential),
            None => Outcome::NotProvisioned,
        });
    }
    provision::fetch_or_create_locked(config, store, key, api_key)
}

/// The store changed between our reads of the secret and of the index: another process is
/// replacing the credential. Its provisioning lock is waited for, then the store read again.
fn read_after_replacement(
    config: &Config,
    store: &Store,
    key: &str,
) -> Result<Outcome, ProvisionError> {
    {
        let _lock = FileLock::acquire(
            &config.dir.join(PROVISION_LOCK),
            config.lock_timeout,
            &format!("waiting for another process replacing the credential for {key}"),
        )?;
        if let Some(credential) = store.get(key)? {
            return Ok(Outcome::Credential(credential));
        }
    }
    provision::fetch_or_create(config, store, key)
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
