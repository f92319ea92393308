//! `revoke [--registry R] [--yes] [--json]`: deletes the Deepgram credential this install uses
//! for R (default: the first provisioning registry), then the local copy (`lifecycle::revoke`).
//! Asks first unless `--yes`. Prints what it did; never a secret.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::RevokeArgs;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::{self, revoke::revoke};
use crate::store::Store;

pub fn run(args: &RevokeArgs, out: &mut impl Write) -> Result<(), Error> {
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let key = lifecycle::target_key(&config, args.registry.as_deref());
    let fail = |err: lifecycle::LifecycleError| Error::Command(format!("revoke: {err}"));
    let (username, meta) = lifecycle::ours(&config, &store, &key).map_err(fail)?;
    confirm(
        "revoke",
        &format!(
            "delete Deepgram credential {} ({username}) for {key} in project {} and erase the local copy",
            meta.id, meta.project_id
        ),
        args.yes,
    )?;
    let revoked = revoke(&config, &store, &key).map_err(fail)?;
    if args.json {
        let value = json!({
            "registry": revoked.key,
            "id": revoked.id,
            "username": revoked.username,
            "project_id": revoked.project_id,
            "deleted": !revoked.already_gone,
            "already_gone": revoked.already_gone,
            "erased_locally": true,
        });
        return writeln!(out, "{value:#}").map_err(Error::Output);
    }
    let line = if revoked.already_gone {
        format!(
            "Deepgram credential {} ({}) for {} was already gone from project {}; erased the local copy",
            revoked.id, revoked.username, revoked.key, revoked.project_id
        )
    } else {
        format!(
            "revoked Deepgram credential {} ({}) for {}: deleted in project {} and erased the local copy",
            revoked.id, revoked.username, revoked.key, revoked.project_id
        )
    };
    writeln!(out, "{line}").map_err(Error::Output)
}
