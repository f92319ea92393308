//! `status`: what this install holds, without the network and without a secret.
//!
//! Lists each stored credential (server, username, backend) with the Deepgram metadata of
//! those it created (credential id, project, created time, scopes, comment), every create whose
//! secret was not stored (a possible orphan, named by id or by its unique comment; never the
//! credential in use), the configured store and provisioning registries, and where the API key
//! comes from (the variable, the keychain, or the file by path). The groundwork that `rotate`,
//! `revoke` and `prune` will build on.

use std::io::Write;

use serde_json::json;

use super::Options;
use crate::config::{Config, Provision};
use crate::env;
use crate::error::Error;
use crate::provision;
use crate::store::Store;

pub fn run(args: &[String], out: &mut impl Write) -> Result<(), Error> {
    let options = Options::parse("status", args, &[], &["json"])?;
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let index = store.index()?;
    let orphans: Vec<_> = index.possible_orphans().collect();
    let api_key = if env::var(env::DEEPGRAM_API_KEY).is_some() {
        if store.api_key_place()?.is_some() {
            format!(
                "{} (takes precedence over the key saved by login)",
                env::DEEPGRAM_API_KEY
            )
        } else {
            env::DEEPGRAM_API_KEY.to_string()
        }
    } else if let Some(place) = store.api_key_place()? {
        format!("saved by login (in {place})")
    } else {
        "none".to_string()
    };
    let provisioning = match config.provision {
        Provision::Auto => config.registries.join(", "),
        Provision::Never => "off (provision = \"never\")".to_string(),
    };
    if options.flag("json") {
        let value = json!({
            "config_dir": config.dir.display().to_string(),
            "store": store.backend_kind().as_str(),
            "provisioning": if config.provision == Provision::Auto { json!(config.registries) } else { json!([]) },
            "api_key": api_key,
            "install_id": index.install_id,
            "credentials": index.entries,
            "unfinished": orphans,
            "to_delete": index.to_delete,
        });
        return writeln!(out, "{value:#}").map_err(Error::Output);
    }
    let mut text = format!(
        "config directory: {}\nstore: {}\nprovisioning registries: {provisioning}\nAPI key: {api_key}\n",
        config.dir.display(),
        store.backend_kind().as_str(),
    );
    if index.entries.is_empty() {
        text.push_str("credentials: none stored\n");
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
    for marker in &orphans {
        text.push_str(&format!(
            "unfinished create for {} (process {}, project {}): if it reached Deepgram, delete credential {} in the Console\n",
            marker.key,
            marker.pid,
            marker.project_id,
            provision::orphan_name(marker)
        ));
    }
    for old in &index.to_delete {
        text.push_str(&format!(
            "to delete: Deepgram credential {} (was {}, project {}, comment {:?}): replaced, but its delete failed ({}); `docker-credential-deepgram prune` removes it\n",
            old.id,
            old.key,
            old.project_id,
            old.comment.as_deref().unwrap_or(""),
            old.reason
        ));
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)
}
