//! Fetch-or-create: the first `get` for a provisioning registry creates a Deepgram
//! distribution credential, exactly once across every process on the machine.
//!
//! The order is the promise. Under the provisioning lock ([`Locked`]): re-read the store
//! (another helper may have just finished), prove the store accepts writes, note the pending
//! create in the index, POST once, and write the secret to the store before anything else
//! touches it. A create is repeated only when the server provably did not act on it
//! ([`CreateFailure::DidNotAct`]), a few times within a bounded time. An ambiguous failure
//! (no complete answer, 5xx from a gateway) is reported with the comment that finds the
//! possible orphan, never retried. An unreachable API is Docker's not-found, and any failure
//! is remembered for `failure_backoff` while the settings it depended on stay the same
//! (`crate::outage`). If the keychain refuses the secret after a successful create, the 0600
//! file keeps it; if that fails too, the error names the credential so the user can delete it.
//! Never logs or prints the secret or the API key.

use std::path::Path;
use std::time::{Duration, Instant};

use super::session::{Locked, Purpose, Session};
use super::{Answer, CredentialError, How, Outcome};
use crate::config::{Config, MAX_COMMENT_CHARS, Provision};
use crate::deepgram::{ApiError, Client, CreateFailure, CreateRequest, CreatedCredential};
use crate::env;
use crate::outage;
use crate::store::index::{self, Provisioned, UnfinishedCreate};
use crate::store::{PutError, Store, StoreError, StoredCredential};

/// First pause between retries of a create the server refused; a `Retry-After` shorter than
/// the pause does not shorten it.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Creates sent at most per `get`, whatever the budget and the server's `Retry-After` say.
const MAX_CREATE_ATTEMPTS: u32 = 5;

/// A credential just created and stored, with what the API said of it.
#[derive(Debug, Clone)]
pub struct Created {
    pub credential: StoredCredential,
    pub meta: Provisioned,
}

/// Provisions `key` if this registry provisions and an API key is available. The caller has
/// already looked in the store without a lock. A failure remembered from the last
/// `failure_backoff` is answered the same way at once, without a request (`crate::outage`).
pub(super) fn fetch_or_create(session: &Session, key: &str) -> Result<Outcome, CredentialError> {
    let config = &session.config;
    if config.provision == Provision::Never || !config.is_provisioning_registry(key) {
        return Ok(Outcome::NotProvisioned);
    }
    if session.api_key()?.is_none() {
        return Ok(Outcome::NoApiKey(no_api_key_hint(&session.store, key)));
    }
    if let Some(remembered) = outage::recall(&session.config, &session.reach_fingerprint(), key) {
        return replay(remembered);
    }
    let locked = session.lock(&format!(
        "creating a Deepgram distribution credential for {key}"
    ))?;
    fetch_or_create_locked(&locked, key)
}

/// The part of [`fetch_or_create`] under the provisioning lock: the store re-read, the
/// remembered failure, the create.
pub(super) fn fetch_or_create_locked(
    locked: &Locked,
    key: &str,
) -> Result<Outcome, CredentialError> {
    let store = &locked.store;
    if let Some(credential) = store.get(key)? {
        crate::debug!("{key} was provisioned by another process while we waited");
        return Ok(Outcome::Served(Answer {
            credential,
            how: How::Waited,
        }));
    }
    // Another process may have failed while we waited for the lock: answer as it did.
    if let Some(remembered) = outage::recall(&locked.config, &locked.reach_fingerprint(), key) {
        return replay(remembered);
    }
    warn_about_unfinished_create(store, key)?;
    store.check_writable()?;
    match create(locked, key) {
        Ok(created) => {
            outage::forget(&locked.config, key);
            Ok(Outcome::Served(Answer {
                credential: created.credential,
                how: How::Created {
                    id: created.meta.id,
                },
            }))
        }
        Err(err) => remember_failure(locked, key, err),
    }
}

/// Why there is no API key, and what to do: a key `login` saved in a keychain this process
/// cannot reach (cron, `su -`, a headless shell) needs that session, not another `login`.
fn no_api_key_hint(store: &Store, key: &str) -> String {
    let in_unreachable_keychain = store.unreachable_keychain().is_some()
        && store.index().is_ok_and(|index| {
            index.api_key_backend.as_deref() == Some(crate::store::BackendKind::Keyring.as_str())
        });
    if in_unreachable_keychain {
        return format!(
            "the Deepgram API key saved by login is in the keychain, which this process cannot reach: run in the session that holds it (set DBUS_SESSION_BUS_ADDRESS to its bus), set {}, or run `docker-credential-deepgram login` here, so that credentials for {key} are created on first use",
            env::DEEPGRAM_API_KEY
        );
    }
    format!(
        "no Deepgram API key: set {} or run `docker-credential-deepgram login` so that credentials for {key} are created on first use",
        env::DEEPGRAM_API_KEY
    )
}

/// The client, the project, the pending marker, the create, the store; the caller has
/// checked the store accepts writes. A credential stored for `key` before is replaced only
/// once the new one is stored (`rotate`).
fn create(locked: &Locked, key: &str) -> Result<Created, CredentialError> {
    let (config, store) = (&locked.config, &locked.store);
    let client = locked.client(Purpose::Act)?;
    let project_id = resolve_project(config, client)?;
    let comment = comment(config, store)?;
    let request = CreateRequest {
        comment: comment.clone(),
        scopes: config.scopes.clone(),
        provider: "quay".to_string(),
    };
    mark_pending(store, config, key, &project_id, &comment)?;
    let limits = RetryLimits {
        budget: config.retry_budget,
        unreachable: config.connect_timeout,
    };
    let created = match create_with_retries(client, &project_id, &request, limits) {
        Ok(created) => created,
        Err(err) if err.outcome() == CreateFailure::Ambiguous => {
            // The pending marker stays: the next run repeats the warning until a create
            // succeeds, and `prune` or a due check's list resolves it.
            return Err(CredentialError::Ambiguous {
                error: Box::new(err),
                project_id,
                comment,
            });
        }
        Err(err) => {
            // Nothing was created (nothing was sent, or the API said why not): no orphan to
            // warn about.
            forget_unfinished(store, &comment)?;
            return Err(CredentialError::Create(Box::new(err)));
        }
    };
    if let Err(err) = check_username(&created) {
        // Unusable: a username with terminal controls must reach no terminal and no config
        // file. It exists remotely, so it goes again (its marker stays if that fails).
        match client.delete_credential(&project_id, &created.id) {
            Ok(_) => forget_unfinished(store, &comment)?,
            Err(delete) => crate::warn!(
                "could not delete the unusable Deepgram credential {} ({delete}); `docker-credential-deepgram prune` removes it",
                created.id
            ),
        }
        return Err(CredentialError::Create(Box::new(err)));
    }
    keep(store, config, key, &project_id, &comment, created)
}

/// A credential created under `locked` to replace the one stored for `key` (rotation): the
/// store proves it accepts writes first, as for a first create.
pub(super) fn create_replacement(locked: &Locked, key: &str) -> Result<Created, CredentialError> {
    locked.store.check_writable()?;
    create(locked, key)
}

/// A username the API answered must be printable: Quay robot names never hold controls.
fn check_username(created: &CreatedCredential) -> Result<(), ApiError> {
    let clean = crate::sanitize::terminal_safe(&created.username);
    if clean == created.username && !created.username.is_empty() {
        return Ok(());
    }
    Err(ApiError::UnsafeUsername {
        id: created.id.clone(),
        shown: clean,
    })
}

/// Remembers a failure of the API side for `failure_backoff`. An unreachable API becomes
/// Docker's not-found with a hint, so that public images still pull anonymously; every
/// other failure keeps its error (an ambiguous one names the possible orphan).
fn remember_failure(
    locked: &Locked,
    key: &str,
    err: CredentialError,
) -> Result<Outcome, CredentialError> {
    match &err {
        CredentialError::Create(api) | CredentialError::Api(api)
            if matches!(**api, ApiError::Unreachable { .. }) =>
        {
            let hint = format!(
                "{api}; answering not-found so that public images still pull, and {key} credentials are created once the API answers"
            );
            outage::remember(
                &locked.config,
                &locked.reach_fingerprint(),
                key,
                true,
                &hint,
            );
            Ok(Outcome::Unavailable(hint))
        }
        CredentialError::Create(_)
        | CredentialError::Api(_)
        | CredentialError::Ambiguous { .. }
        | CredentialError::NoProject
        | CredentialError::ManyProjects(_) => {
            outage::remember(
                &locked.config,
                &locked.reach_fingerprint(),
                key,
                false,
                &err.to_string(),
            );
            Err(err)
        }
        _ => Err(err),
    }
}

/// A remembered failure, answered as it was the first time.
fn replay(remembered: outage::Remembered) -> Result<Outcome, CredentialError> {
    let (age, left) = remembered.ages();
    let note = format!(
        "this failure happened {age}s ago; no request is made for {left}s more while the API key, api_url, project and TLS/proxy settings stay the same (failure_backoff; {}=0s turns this off)",
        env::FAILURE_BACKOFF
    );
    crate::debug!("answering a remembered failure: {note}");
    if remembered.not_found {
        Ok(Outcome::Unavailable(format!(
            "{}; {note}",
            remembered.message
        )))
    } else {
        Err(CredentialError::Remembered {
            message: remembered.message,
            note,
        })
    }
}

/// `DEEPGRAM_PROJECT_ID`/`project_id`, else the key's only project.
pub fn resolve_project(config: &Config, client: &Client) -> Result<String, CredentialError> {
    if let Some(project) = &config.project_id {
        return Ok(project.clone());
    }
    let mut projects = client.list_projects()?;
    match projects.len() {
        0 => Err(CredentialError::NoProject),
        1 => {
            let project = projects.remove(0);
            crate::debug!("using the key's only project {}", project.project_id);
            Ok(project.project_id)
        }
        _ => Err(CredentialError::ManyProjects(projects)),
    }
}

/// How long a create may be repeated: `budget` in all, and while nothing reaches the API
/// (refused, unresolvable) only within `unreachable`, so that an outage holds a pull for about
/// the connect timeout, not the whole budget.
#[derive(Debug, Clone, Copy)]
struct RetryLimits {
    budget: Duration,
    unreachable: Duration,
}

/// One create, repeated only while the failure proves nothing was created
/// ([`CreateFailure::DidNotAct`]): at most [`MAX_CREATE_ATTEMPTS`] sends, each pause at least
/// the backoff (longer if the server asks), and never a pause that would end past the limit.
/// Only elapsed time is compared, so no `Retry-After` can overflow a clock.
fn create_with_retries(
    client: &Client,
    project_id: &str,
    request: &CreateRequest,
    limits: RetryLimits,
) -> Result<CreatedCredential, ApiError> {
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let err = match client.create_credential(project_id, request) {
            Ok(created) => return Ok(created),
            Err(err) => err,
        };
        if err.outcome() != CreateFailure::DidNotAct || attempt >= MAX_CREATE_ATTEMPTS {
            return Err(err);
        }
        let limit = match err {
            ApiError::Unreachable { .. } => limits.unreachable.min(limits.budget),
            _ => limits.budget,
        };
        let wait = err
            .retry_after()
            .map_or(backoff, |asked| asked.max(backoff));
        if wait > limit.saturating_sub(started.elapsed()) {
            return Err(err);
        }
        crate::warn!("{err}; retrying in {:.1}s", wait.as_secs_f64());
        std::thread::sleep(wait);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// Stores the new secret at once; the file store is the last resort before giving up. Only a
/// secret that is stored nowhere is reported as lost: one in the store whose index update
/// failed works, and is recorded by the next command.
fn keep(
    store: &Store,
    config: &Config,
    key: &str,
    project_id: &str,
    sent_comment: &str,
    created: CreatedCredential,
) -> Result<Created, CredentialError> {
    let credential = StoredCredential {
        username: created.username.clone(),
        secret: created.secret.clone(),
    };
    let meta = Provisioned {
        id: created.id.clone(),
        project_id: project_id.to_string(),
        api_url: config.api_url.to_string(),
        created: created.created.clone(),
        scopes: created.scopes.clone(),
        // The comment is what ties this credential to its unfinished-create marker.
        comment: created
            .comment
            .clone()
            .or_else(|| Some(sent_comment.to_string())),
        // Just created: no need to ask the API whether it exists before `revalidate_after`.
        checked_at: Some(index::unix_now()),
        check_failed_at: None,
        stored_at: Some(index::unix_now()),
        rotation_failures: 0,
    };
    let first = match store.put(key, key, &credential, Some(meta.clone())) {
        Ok(()) => {
            crate::debug!("created and stored Deepgram credential {}", created.id);
            return Ok(Created { credential, meta });
        }
        Err(err @ PutError::IndexNotUpdated { .. }) => {
            crate::warn!("created Deepgram credential {}: {err}", created.id);
            return Ok(Created { credential, meta });
        }
        Err(PutError::NotStored(first)) => first,
    };
    let lost = |source: StoreError| {
        // Best effort: the marker of this create gets the id, so `status` names it exactly.
        let _ = store
            .update_index(|index| index::note_lost_secret(index, key, &meta, std::process::id()));
        CredentialError::StoreAfterCreate {
            id: created.id.clone(),
            username: created.username.clone(),
            source,
        }
    };
    if store.backend_kind() == crate::store::BackendKind::File {
        return Err(lost(first));
    }
    crate::warn!(
        "created Deepgram credential {} but the store refused it ({first}); keeping it in the 0600 file store instead",
        created.id
    );
    match store.put_in_file(key, key, &credential, Some(meta.clone())) {
        Ok(()) => Ok(Created { credential, meta }),
        Err(err @ PutError::IndexNotUpdated { .. }) => {
            crate::warn!("created Deepgram credential {}: {err}", created.id);
            Ok(Created { credential, meta })
        }
        Err(PutError::NotStored(source)) => Err(lost(source)),
    }
}

/// Records the create about to be sent: until its secret is stored, it is a possible orphan.
fn mark_pending(
    store: &Store,
    config: &Config,
    key: &str,
    project_id: &str,
    comment: &str,
) -> Result<(), StoreError> {
    let marker = UnfinishedCreate {
        key: key.to_string(),
        project_id: project_id.to_string(),
        api_url: config.api_url.to_string(),
        comment: comment.to_string(),
        id: None,
        started_at: index::unix_now(),
        pid: std::process::id(),
    };
    store.update_index(|index| index.unfinished.push(marker))
}

/// The API said it created nothing: the marker of that create goes.
fn forget_unfinished(store: &Store, comment: &str) -> Result<(), StoreError> {
    store.update_index(|index| index.unfinished.retain(|m| m.comment != comment))
}

/// Every earlier create for `key` that may have left a credential in the project, each named
/// exactly (by id when the API told us, else by its unique comment). Never the one in use.
fn warn_about_unfinished_create(store: &Store, key: &str) -> Result<(), StoreError> {
    let index = store.index()?;
    for marker in index.possible_orphans().filter(|m| m.key == key) {
        crate::warn!(
            "an earlier create for {key} (process {}, {}s ago) did not finish storing its secret; if it reached Deepgram it left an unused credential {} in project {}: delete it in the Console (`docker-credential-deepgram status` lists it)",
            marker.pid,
            index::unix_now().saturating_sub(marker.started_at),
            super::orphan_name(marker),
            marker.project_id
        );
    }
    Ok(())
}

/// Length of the per-create part of a comment's tag.
const CREATE_MARKER_CHARS: usize = 6;

/// The configured comment (or one naming the tool and host), always ending in the tag
/// `[dcd:<install id>:<create marker>]`: `[dcd:<install id>` finds every credential this
/// install created, the whole tag exactly this one.
fn comment(config: &Config, store: &Store) -> Result<String, StoreError> {
    let tag = format!(
        "[dcd:{}:{}]",
        store.install_id()?,
        crate::tag::random_hex(CREATE_MARKER_CHARS)
    );
    let base = match &config.comment {
        Some(comment) => comment.clone(),
        None => format!("{} on {}", crate::NAME, hostname()),
    };
    let room = MAX_COMMENT_CHARS - tag.chars().count() - 1;
    let base: String = base.chars().take(room).collect();
    Ok(format!("{} {tag}", base.trim_end()))
}

fn hostname() -> String {
    env::var("HOSTNAME")
        .or_else(|| env::var("COMPUTERNAME"))
        .or_else(|| {
            std::fs::read_to_string(Path::new("/etc/hostname"))
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown-host".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn comment_is_bounded_and_tagged() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load_from(dir.path().to_path_buf()).unwrap();
        config.store = crate::config::StoreChoice::File;
        config.comment = Some("x".repeat(128));
        let store = Store::open(&config).unwrap();
        let text = comment(&config, &store).unwrap();
        assert_eq!(text.chars().count(), 128);
        let install_tag = format!("[dcd:{}:", store.install_id().unwrap());
        let (_, tag) = text.rsplit_once(' ').unwrap();
        assert!(
            tag.starts_with(&install_tag) && tag.ends_with(']'),
            "{text}"
        );
        assert_eq!(
            tag.len(),
            install_tag.len() + CREATE_MARKER_CHARS + 1,
            "{text}"
        );
    }

    #[test]
    fn a_secret_stored_before_the_index_update_failed_is_kept_not_reported_lost() {
        use crate::store::file::FileBackend;
        use crate::store::tests::BreaksIndexAfterWrite;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load_from(dir.path().to_path_buf()).unwrap();
        config.store = crate::config::StoreChoice::File;
        let store = crate::store::store_for_tests(
            dir.path(),
            Box::new(BreaksIndexAfterWrite(
                FileBackend::new(dir.path()),
                dir.path().to_path_buf(),
            )),
        );
        let created = CreatedCredential {
            id: "id-9".into(),
            username: "deepgram+id-9".into(),
            secret: Secret::new("S9"),
            created: None,
            scopes: vec![],
            comment: None,
        };
        let kept = keep(&store, &config, "quay.io", "p", "c [dcd:x:000001]", created).unwrap();
        assert_eq!(kept.credential.username, "deepgram+id-9");
        assert_eq!(kept.meta.id, "id-9");
        assert_eq!(store.get("quay.io").unwrap().unwrap().secret.expose(), "S9");
    }

    #[test]
    fn an_answer_without_a_comment_still_clears_the_marker_of_its_create() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load_from(dir.path().to_path_buf()).unwrap();
        config.store = crate::config::StoreChoice::File;
        let store = Store::open(&config).unwrap();
        mark_pending(&store, &config, "quay.io", "p", "c [dcd:x:000002]").unwrap();
        let created = CreatedCredential {
            id: "id-8".into(),
            username: "deepgram+id-8".into(),
            secret: Secret::new("S8"),
            created: None,
            scopes: vec![],
            comment: None,
        };
        keep(&store, &config, "quay.io", "p", "c [dcd:x:000002]", created).unwrap();
        let index = store.index().unwrap();
        assert!(index.unfinished.is_empty(), "{:?}", index.unfinished);
    }

    #[test]
    fn two_creates_from_one_install_have_different_comments_with_the_same_install_tag() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load_from(dir.path().to_path_buf()).unwrap();
        config.store = crate::config::StoreChoice::File;
        let store = Store::open(&config).unwrap();
        let first = comment(&config, &store).unwrap();
        let second = comment(&config, &store).unwrap();
        assert_ne!(first, second);
        let install_tag = format!("[dcd:{}:", store.install_id().unwrap());
        assert!(first.contains(&install_tag) && second.contains(&install_tag));
    }
}
