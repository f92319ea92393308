//! The network checks: the API key (where it comes from, accepted, the project resolves) and,
//! per provisioning registry, the stored credential (its Deepgram id and age, still present in
//! the project, accepted by the registry's own auth handshake). With `--offline` every request
//! is skipped. Never shows the API key or a secret; never creates or deletes anything.

use super::{Check, Options};
use crate::config::Config;
use crate::deepgram::{ApiError, Client, Timeouts};
use crate::env;
use crate::registry_auth::{self, Verdict};
use crate::store::{BackendKind, Store};

/// The repository a pull-scope token is asked for: Deepgram's self-hosted API image.
pub const PROBE_REPOSITORY: &str = "deepgram/self-hosted-api";
const OFFLINE: &str = "not checked (--offline)";

pub fn checks(
    options: &Options,
    config: &Config,
    store: &Store,
    registries: &[String],
) -> Vec<Check> {
    let mut checks = Vec::new();
    let timeouts = Timeouts {
        connect: config.connect_timeout,
        request: config.request_timeout,
    };
    let source = if env::var(env::DEEPGRAM_API_KEY).is_some() {
        env::DEEPGRAM_API_KEY.to_string()
    } else {
        format!(
            "the key saved by login ({} store)",
            store.backend_kind().as_str()
        )
    };
    let key = match crate::credential::read_api_key(store) {
        Ok(key) => key,
        Err(err) => {
            checks.push(Check::fail(
                "api key",
                err.to_string(),
                "fix the store (see the store check)",
            ));
            None
        }
    };
    let client = match key {
        None => {
            if checks.is_empty() {
                checks.push(no_key(store));
            }
            checks.push(Check::skip("project", "no API key"));
            None
        }
        Some(_) if options.offline => {
            checks.push(Check::skip("api key", format!("from {source}; {OFFLINE}")));
            checks.push(Check::skip("project", OFFLINE));
            None
        }
        Some(key) => match crate::credential::build_client(config, key, timeouts) {
            Err(err) => {
                checks.push(Check::fail(
                    "api key",
                    format!("from {source}: {err}"),
                    "fix the proxy variable named above",
                ));
                checks.push(Check::skip("project", "the API key check failed"));
                None
            }
            Ok(client) => match client.list_projects() {
                Ok(projects) => {
                    checks.push(Check::ok(
                        "api key",
                        format!("from {source}; accepted by {}", config.api_url),
                    ));
                    let found = match &config.project_id {
                        Some(id) => projects.iter().find(|p| &p.project_id == id).map(|p| (p.project_id.clone(), p.name.clone())).ok_or_else(|| {
                            Check::fail("project", format!("the key does not see project {id}"), format!("check {} or project_id, or unset it to use the key's only project", env::DEEPGRAM_PROJECT_ID))
                        }),
                        None if projects.len() == 1 => Ok((projects[0].project_id.clone(), projects[0].name.clone())),
                        None => Err(Check::fail(
                            "project",
                            format!("the key sees {} projects and none is configured", projects.len()),
                            "run `docker-credential-deepgram login --project ID` or set DEEPGRAM_PROJECT_ID",
                        )),
                    };
                    match found {
                        Ok((id, name)) => {
                            checks.push(Check::ok("project", format!("{id} ({name})")))
                        }
                        Err(check) => checks.push(check),
                    }
                    Some(client)
                }
                Err(err) => {
                    let fix = match err {
                        ApiError::InvalidKey { .. } => format!(
                            "the key comes from {source}: set a valid key in {} or run `docker-credential-deepgram login`",
                            env::DEEPGRAM_API_KEY
                        ),
                        ApiError::NoAnswer { .. } | ApiError::Unreachable { .. } => {
                            "check the network, proxy (HTTPS_PROXY) and api_url".to_string()
                        }
                        _ => "see the message".to_string(),
                    };
                    checks.push(Check::fail("api key", format!("from {source}: {err}"), fix));
                    checks.push(Check::skip("project", "the API key check failed"));
                    None
                }
            },
        },
    };
    for registry in registries {
        checks.extend(credential(
            options,
            store,
            registry,
            client.as_ref(),
            timeouts,
        ));
    }
    checks
}

/// No key where this process looks: none saved, or saved in a keychain it cannot reach.
fn no_key(store: &Store) -> Check {
    let login = format!(
        "set {} or run `docker-credential-deepgram login`",
        env::DEEPGRAM_API_KEY
    );
    let none = "no Deepgram API key: new credentials cannot be created and stored ones cannot be checked with Deepgram";
    let Some(reason) = store.unreachable_keychain() else {
        return Check::fail("api key", none, login);
    };
    let index = store.index().unwrap_or_default();
    let keychain = BackendKind::Keyring.as_str();
    let here = format!(
        "{}; or {login} here, which keeps a key in the file store this process uses",
        super::store::SESSION_FIX
    );
    match index.api_key_backend.as_deref() {
        Some(backend) if backend == keychain => Check::fail(
            "api key",
            format!(
                "the API key saved by login is in the keychain, which this process cannot reach ({reason})"
            ),
            here,
        ),
        Some(_) => Check::fail("api key", none, login),
        // Saved by an older version, which did not record where: only the keychain knows.
        None if index.entries.values().any(|e| e.backend == keychain) => Check::warn(
            "api key",
            format!(
                "no API key in the file store, and cannot tell whether login saved one in the keychain, because this process cannot reach it ({reason})"
            ),
            here,
        ),
        None => Check::fail(
            "api key",
            format!("{none} (and no keychain is reachable: {reason})"),
            login,
        ),
    }
}

fn credential(
    options: &Options,
    store: &Store,
    registry: &str,
    client: Option<&Client>,
    timeouts: Timeouts,
) -> Vec<Check> {
    let name = format!("credential {registry}");
    let remote = format!("deepgram {registry}");
    let accepted = format!("registry {registry}");
    let stored = match store.get(registry) {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            return vec![
                Check::warn(
                    &name,
                    format!("nothing stored for {registry}"),
                    format!(
                        "pull an image from {registry}: the first pull creates the credential (or check the api key above)"
                    ),
                ),
                Check::skip(&remote, "nothing stored"),
                Check::skip(&accepted, "nothing stored"),
            ];
        }
        Err(err) => {
            let fix = match err {
                crate::store::StoreError::KeychainUnreachable { .. } => super::store::SESSION_FIX,
                _ => "fix the store (see the store check)",
            };
            return vec![
                Check::fail(&name, err.to_string(), fix),
                Check::skip(&remote, "the store failed"),
                Check::skip(&accepted, "the store failed"),
            ];
        }
    };
    let meta = store
        .index()
        .ok()
        .and_then(|index| index.entries.get(registry).cloned())
        .and_then(|entry| entry.provisioned);
    let mut checks = Vec::new();
    match &meta {
        Some(meta) => {
            let age = meta
                .created
                .as_deref()
                .and_then(crate::rfc3339::parse)
                .map(|created| {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs();
                    format!(", {} days old", now.saturating_sub(created) / 86_400)
                })
                .unwrap_or_default();
            checks.push(Check::ok(
                &name,
                format!(
                    "username {}, Deepgram credential {} in project {}{age}",
                    stored.username, meta.id, meta.project_id
                ),
            ));
            checks.push(match (client, options.offline) {
                (_, true) => Check::skip(&remote, OFFLINE),
                (None, false) => Check::skip(&remote, "no accepted API key"),
                (Some(client), false) => {
                    // `get`'s own rule: gone only when the API's 404 and the list agree.
                    match crate::credential::confirmed_presence(client, meta) {
                        Ok(Some(_)) => Check::ok(&remote, format!("credential {} exists in project {}", meta.id, meta.project_id)),
                        Ok(None) => Check::fail(
                            &remote,
                            format!("credential {} no longer exists in project {} (deleted in the Console?)", meta.id, meta.project_id),
                            format!("run `echo {registry} | docker-credential-deepgram erase`; the next pull creates a new one"),
                        ),
                        Err(err) => Check::warn(
                            &remote,
                            format!("cannot tell whether credential {} still exists, because {err}", meta.id),
                            "see the message; `get` keeps answering the stored credential meanwhile",
                        ),
                    }
                }
            });
        }
        None => {
            checks.push(Check::ok(
                &name,
                format!(
                    "username {}, stored by a login (not created by this helper)",
                    stored.username
                ),
            ));
            checks.push(Check::skip(&remote, "not created by this helper"));
        }
    }
    if options.offline {
        checks.push(Check::skip(&accepted, OFFLINE));
        return checks;
    }
    let erase = format!(
        "run `echo {registry} | docker-credential-deepgram erase`; the next pull creates a new one"
    );
    checks.push(match registry_auth::check(registry, &stored.username, &stored.secret, PROBE_REPOSITORY, timeouts) {
        Verdict::Accepted { scheme } => Check::ok(&accepted, format!("{registry} accepts the credential ({scheme})")),
        Verdict::Open => Check::ok(&accepted, format!("{registry} asks for no credentials")),
        Verdict::NotEntitled { repository } => Check::warn(
            &accepted,
            format!("{registry} accepts the credential but it may not pull {repository}"),
            "check the credential's scopes in the Deepgram Console, or ask Deepgram support about your entitlement",
        ),
        Verdict::WrongSecret { message } => Check::fail(
            &accepted,
            format!("{registry} rejects the stored secret (the robot exists; its token was regenerated or the secret is wrong): {message}"),
            erase,
        ),
        Verdict::RobotDeleted { message } => Check::fail(
            &accepted,
            format!("{registry} no longer knows the robot account (the credential was deleted): {message}"),
            erase,
        ),
        Verdict::Rejected { message } => Check::fail(&accepted, format!("{registry} rejects the credential: {message}"), erase),
        // No verdict from the registry: doctor does not guess (a pull may fail the same way).
        Verdict::Unknown { reason } => Check::warn(&accepted, format!("cannot tell whether {registry} accepts the credential, because it gave no usable answer: {reason}"), "check the network and proxy (HTTPS_PROXY, NO_PROXY), then run doctor again"),
    });
    checks
}
