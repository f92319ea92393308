//! `rotate [--registry R] [--yes] [--json]`: replaces the Deepgram credential this install uses
//! for R (default: the first provisioning registry) with a new one, then deletes the old one
//! (`lifecycle::rotate`). Asks first unless `--yes`. Prints what it did; never a secret.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::RotateArgs;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::{self, rotate::rotate};
use crate::store::Store;

pub fn run(args: &RotateArgs, out: &mut impl Write) -> Result<(), Error> {
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let key = lifecycle::target_key(&config, args.registry.as_deref());
    let fail = |err: lifecycle::LifecycleError| Error::Command(format!("rotate: {err}"));
    let (username, meta) = lifecycle::ours(&config, &store, &key).map_err(fail)?;
    confirm(
        "rotate",
        &format!(
            "create a new Deepgram credential for {key} and delete {} ({username}) in project {}",
            meta.id, meta.project_id
        ),
        args.yes,
    )?;
    let rotated = rotate(&config, &store, &key).map_err(fail)?;
    if args.json {
        let value = json!({
            "registry": rotated.key,
            "old_id": rotated.old_id,
            "new_id": rotated.new_id,
            "username": rotated.new_username,
            "old_deleted": rotated.delete_failed.is_none() && !rotated.already_gone,
            "old_already_gone": rotated.already_gone,
            "old_to_delete": rotated.delete_failed.is_some(),
            "delete_error": rotated.delete_failed,
        });
        return writeln!(out, "{value:#}").map_err(Error::Output);
    }
    let mut text = format!(
        "rotated the Deepgram credential for {}: now {} ({})\n",
        rotated.key, rotated.new_id, rotated.new_username
    );
    match &rotated.delete_failed {
        None if rotated.already_gone => text.push_str(&format!(
            "the old credential {} was already gone\n",
            rotated.old_id
        )),
        None => text.push_str(&format!("deleted the old credential {}\n", rotated.old_id)),
        Some(reason) => {
            text.push_str(&format!(
                "the old credential {} could not be deleted ({reason}); it is kept as to delete: `docker-credential-deepgram prune` removes it\n",
                rotated.old_id
            ));
        }
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)
}
