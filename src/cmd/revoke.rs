//! `revoke [--registry R] [--yes] [--json]`: deletes the Deepgram credential this install uses
//! for R (default: the first provisioning registry), then the local copy (`credential::revoke`).
//! Asks first unless `--yes`. Prints what it did; never a secret.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::RevokeArgs;
use crate::credential::{self, Session, revoke::revoke};
use crate::error::{CommandKind, Error};

pub fn run(args: &RevokeArgs, out: &mut impl Write) -> Result<(), Error> {
    let session = Session::open()?;
    if args.all {
        return all(&session, args, out);
    }
    let key = credential::target_key(&session.config, args.registry.as_deref());
    let fail = Error::failed("revoke");
    let (username, meta) = credential::ours(&session, &key).map_err(&fail)?;
    confirm(
        "revoke",
        &format!(
            "delete Deepgram credential {} ({username}) for {key} in project {} and erase the local copy",
            meta.id, meta.project_id
        ),
        args.yes,
    )?;
    let revoked = revoke(&session, &key, Some(&meta.id)).map_err(&fail)?;
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

/// `revoke --all`: every credential this install created.
fn all(session: &Session, args: &RevokeArgs, out: &mut impl Write) -> Result<(), Error> {
    let fail = Error::failed("revoke");
    confirm(
        "revoke",
        "delete every Deepgram credential this install created (in use, retiring and orphaned) and erase their local copies",
        args.yes,
    )?;
    let done = credential::revoke::revoke_all(session).map_err(&fail)?;
    if args.json {
        return writeln!(out, "{:#}", json!(done)).map_err(Error::Output);
    }
    let gone = done.pruned.deleted.len() + done.pruned.already_gone.len();
    let mut text = format!(
        "deleted {gone} Deepgram credential(s) of this install{}\n",
        if gone == 0 {
            String::new()
        } else {
            let ids: Vec<&str> = done
                .pruned
                .deleted
                .iter()
                .chain(&done.pruned.already_gone)
                .map(String::as_str)
                .collect();
            format!(": {}", ids.join(", "))
        }
    );
    for key in &done.erased {
        text.push_str(&format!("erased the local copy for {key}\n"));
    }
    for (id, err) in &done.pruned.failed {
        text.push_str(&format!("could not delete {id}: {err}\n"));
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    if done.pruned.failed.is_empty() {
        Ok(())
    } else {
        Err(Error::command(
            CommandKind::Partial,
            format!(
                "revoke: {} delete(s) failed (listed above): fix the cause and run `docker-credential-deepgram revoke --all` again",
                done.pruned.failed.len()
            ),
        ))
    }
}
