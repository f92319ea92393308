//! `status`: what this install holds, without the network and without a secret; with
//! `--remote`, also every credential the API key can see in the project and its relation to
//! this install (`credential::remote`).
//!
//! Lists each stored credential (server, username, backend) with the Deepgram metadata of
//! those it created (credential id, project, created time, scopes, comment), every create whose
//! secret was not stored (a possible orphan, named by id or by its unique comment; never the
//! credential in use), the configured store and provisioning registries, and where the API key
//! comes from (the variable, the keychain, or the file by path). Also the old credentials
//! `rotate` could not delete (*to delete*, removed by `prune`).

use std::io::Write;

use serde_json::json;

use crate::cli::StatusArgs;
use crate::config::{Config, Provision};
use crate::credential::{self, CredentialError, Purpose, Session};
use crate::env;
use crate::error::{CommandKind, Error};
use crate::store::Store;
use crate::store::index::{Index, unix_now};

pub fn run(args: &StatusArgs, out: &mut impl Write) -> Result<(), Error> {
    let config = Config::load()?;
    let store = match Store::open(&config) {
        Ok(store) => store,
        // A keychain that cannot be used (locked, unreachable with `store = "keyring"`): show
        // everything that does not need it, then name it with its fix.
        Err(err) => return without_store(&config, None, args.remote, err, out),
    };
    let index = store.index()?;
    let orphans: Vec<_> = index.possible_orphans().collect();
    let place = match store.api_key_place() {
        Ok(place) => place,
        Err(err) => return without_store(&config, Some(store), args.remote, err, out),
    };
    let api_key = if env::var(env::DEEPGRAM_API_KEY).is_some() {
        if place.is_some() {
            format!(
                "{} (takes precedence over the key saved by login)",
                env::DEEPGRAM_API_KEY
            )
        } else {
            env::DEEPGRAM_API_KEY.to_string()
        }
    } else if let Some(place) = place {
        format!("saved by login (in {place})")
    } else {
        "none".to_string()
    };
    let provisioning = match config.provision {
        Provision::Auto => config.registries.join(", "),
        Provision::Never => "off (provision = \"never\")".to_string(),
    };
    // `--remote`: the list, or why there is none (the local view is shown either way).
    let session = Session::new(config.clone(), store);
    let remote = args.remote.then(|| {
        session
            .client(Purpose::Act)
            .and_then(|client| credential::remote::view(&session, client))
    });
    let store = &session.store;
    let remote_failed =
        matches!(&remote, Some(Err(err)) if !matches!(err, CredentialError::NoApiKey));
    if args.json {
        let mut value = json!({
            "config_dir": config.dir.display().to_string(),
            "store": store.backend_kind().as_str(),
            "provisioning": if config.provision == Provision::Auto { json!(config.registries) } else { json!([]) },
            "api_key": api_key,
            "install_id": index.install_id,
            "credentials": index.entries,
            "unfinished": orphans,
            "to_delete": index.to_delete,
        });
        match &remote {
            Some(Ok((project_id, list))) => {
                value["remote"] = json!({"project_id": project_id, "credentials": list});
            }
            Some(Err(err)) => value["remote"] = json!({"error": err.to_string()}),
            None => {}
        }
        writeln!(out, "{value:#}").map_err(Error::Output)?;
        return remote_result(remote_failed, remote);
    }
    let mut text = format!(
        "config directory: {}\nstore: {}\nprovisioning registries: {provisioning}\nAPI key: {api_key}\n",
        config.dir.display(),
        store.backend_kind().as_str(),
    );
    describe_entries(&mut text, &index, "credentials: none stored");
    for marker in &orphans {
        text.push_str(&format!(
            "unfinished create for {} (process {}, project {}): if it reached Deepgram, delete credential {} in the Console\n",
            marker.key,
            marker.pid,
            marker.project_id,
            credential::orphan_name(marker)
        ));
    }
    let now = unix_now();
    let recorded =
        |old: &&crate::store::index::ToDelete| !credential::retire::is_current(&index, old);
    for old in index
        .to_delete
        .iter()
        .filter(recorded)
        .filter(|old| old.is_retiring(now))
    {
        text.push_str(&format!(
            "retiring: Deepgram credential {} (was {}, project {}): stays live until {} so that copies of it keep working (rotate_grace), then a due get or `docker-credential-deepgram prune` deletes it\n",
            old.id,
            old.key,
            old.project_id,
            old.delete_after.map(crate::rfc3339::format).unwrap_or_default()
        ));
    }
    for old in index
        .to_delete
        .iter()
        .filter(recorded)
        .filter(|old| !old.is_retiring(now))
    {
        text.push_str(&format!(
            "to delete: Deepgram credential {} (was {}, project {}, comment {:?}): no longer used, not deleted yet ({}); `docker-credential-deepgram prune` removes it\n",
            old.id,
            old.key,
            old.project_id,
            old.comment.as_deref().unwrap_or(""),
            old.reason
        ));
    }
    match &remote {
        Some(Ok((project_id, list))) => text.push_str(&remote_lines(project_id, list)),
        Some(Err(CredentialError::NoApiKey)) => text.push_str(&format!(
            "remote credentials: not shown: {}\n",
            CredentialError::NoApiKey
        )),
        Some(Err(_)) | None => {}
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    remote_result(remote_failed, remote)
}

/// The `--remote` section: one line per credential the API key can see.
fn remote_lines(project_id: &str, list: &[credential::remote::Remote]) -> String {
    let mut text = format!(
        "remote credentials in project {project_id} (those this API key can see): {}\n",
        list.len()
    );
    for r in list {
        text.push_str(&format!(
            "  {} {}{}{}: username {}, created {}, scopes {}, comment {:?}\n",
            r.info.id,
            r.relation,
            r.delete_after
                .as_deref()
                .map(|until| format!(" until {until}"))
                .unwrap_or_default(),
            r.registry
                .as_deref()
                .map(|key| format!(" for {key}"))
                .unwrap_or_default(),
            r.info.username,
            r.info.created.as_deref().unwrap_or("(unknown)"),
            r.info.scopes.join(", "),
            r.info.comment.as_deref().unwrap_or("")
        ));
    }
    text
}

/// The view without the store: the configuration, where the API key comes from, the index
/// (it holds no secret) and, with `--remote` and `DEEPGRAM_API_KEY`, the project's list; then
/// the store's error, with its fix, as the command's error.
fn without_store(
    config: &Config,
    store: Option<Store>,
    remote: bool,
    store_error: crate::store::StoreError,
    out: &mut impl Write,
) -> Result<(), Error> {
    let provisioning = match config.provision {
        Provision::Auto => config.registries.join(", "),
        Provision::Never => "off (provision = \"never\")".to_string(),
    };
    let index = crate::store::index::Index::load(&config.dir);
    let saved = index
        .as_ref()
        .ok()
        .and_then(|index| index.api_key_backend.clone());
    let api_key = if env::var(env::DEEPGRAM_API_KEY).is_some() {
        env::DEEPGRAM_API_KEY.to_string()
    } else {
        match saved.as_deref() {
            Some("file") => format!(
                "saved by login (in {})",
                config.dir.join(crate::store::file::FILE_NAME).display()
            ),
            Some(_) => "saved by login in the keychain (which cannot be used now: see below)"
                .to_string(),
            None => "none in the environment; cannot tell whether login saved one, because the store cannot be used (see below)".to_string(),
        }
    };
    let mut text = format!(
        "config directory: {}\nstore: {} (cannot be used now: see below)\nprovisioning registries: {provisioning}\nAPI key: {api_key}\n",
        config.dir.display(),
        match config.store {
            crate::config::StoreChoice::File => "file",
            _ => "keyring",
        },
    );
    match &index {
        Ok(index) => {
            describe_entries(&mut text, index, "credentials: none recorded");
        }
        Err(err) => text.push_str(&format!("credentials: {err}\n")),
    }
    // The project's list needs only the API key: from the environment, it is still shown.
    match (remote, store) {
        (false, _) => {}
        (true, Some(store)) if env::var(env::DEEPGRAM_API_KEY).is_some() => {
            let session = Session::new(config.clone(), store);
            match session
                .client(Purpose::Act)
                .and_then(|client| credential::remote::view(&session, client))
            {
                Ok((project_id, list)) => text.push_str(&remote_lines(&project_id, &list)),
                Err(err) => text.push_str(&format!("remote credentials: not shown: {err}\n")),
            }
        }
        (true, _) => text.push_str(&format!(
            "remote credentials: not shown: the API key saved by login is in the store, which cannot be used now (or set {})\n",
            env::DEEPGRAM_API_KEY
        )),
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    Err(Error::command(
        CommandKind::Store,
        format!("status: the store cannot be used: {store_error}"),
    ))
}

/// Each index entry (and the Deepgram metadata of those this install created), one block
/// each; `none` when there is none.
fn describe_entries(text: &mut String, index: &Index, none: &str) {
    if index.entries.is_empty() {
        text.push_str(none);
        text.push('\n');
    }
    for (key, entry) in &index.entries {
        text.push_str(&format!(
            "credential {key}: username {} in the {} store (stored as {:?})\n",
            entry.username, entry.backend, entry.server_url
        ));
        if let Some(meta) = &entry.provisioned {
            text.push_str(&format!(
                "  Deepgram credential {} in project {}, created {}, scopes {}, comment {:?}\n",
                meta.id,
                meta.project_id,
                meta.created.as_deref().unwrap_or("(unknown)"),
                meta.scopes.join(", "),
                meta.comment.as_deref().unwrap_or("")
            ));
        }
    }
}

type RemoteView = Result<(String, Vec<credential::remote::Remote>), CredentialError>;

/// The local view was printed; a failed list (other than "no API key") is still an error.
fn remote_result(failed: bool, remote: Option<RemoteView>) -> Result<(), Error> {
    match remote {
        // Typed, so that the API error's hint (a rejected key, a missing scope) survives.
        Some(Err(err)) if failed => Err(Error::failed(
            "status: cannot list the project's credentials",
        )(err)),
        _ => Ok(()),
    }
}
