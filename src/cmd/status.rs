//! `status`: what this install holds, without the network and without a secret.
//!
//! Lists each stored credential (server, username, backend) with the Deepgram metadata of
//! those it created (credential id, project, created time, scopes, comment), any create that
//! started and never finished (a possible orphan to delete in the Console), the configured
//! store and provisioning registries, and where the API key would come from. The groundwork
//! that `rotate`, `revoke` and `prune` will build on.

use std::io::Write;

use serde_json::json;

use crate::cli::StatusArgs;
use crate::config::{Config, Provision};
use crate::env;
use crate::error::Error;
use crate::provision;
use crate::store::Store;

pub fn run(args: &StatusArgs, out: &mut impl Write) -> Result<(), Error> {
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let index = store.index()?;
    let api_key = if env::var(env::DEEPGRAM_API_KEY).is_some() {
        if store.api_key()?.is_some() {
            format!(
                "{} (takes precedence over the key saved by login)",
                env::DEEPGRAM_API_KEY
            )
        } else {
            env::DEEPGRAM_API_KEY.to_string()
        }
    } else if provision::api_key(&store)?.is_some() {
        format!("saved by login ({} store)", store.backend_kind().as_str())
    } else {
        "none".to_string()
    };
    let provisioning = match config.provision {
        Provision::Auto => config.registries.join(", "),
        Provision::Never => "off (provision = \"never\")".to_string(),
    };
    if args.json {
        let value = json!({
            "config_dir": config.dir.display().to_string(),
            "store": store.backend_kind().as_str(),
            "provisioning": if config.provision == Provision::Auto { json!(config.registries) } else { json!([]) },
            "api_key": api_key,
            "install_id": index.install_id,
            "credentials": index.entries,
            "pending": index.pending,
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
    for (key, pending) in &index.pending {
        text.push_str(&format!(
            "unfinished create for {key} (process {}, project {}): if it reached Deepgram, delete the credential with comment {:?} in the Console\n",
            pending.pid, pending.project_id, pending.comment
        ));
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)
}
