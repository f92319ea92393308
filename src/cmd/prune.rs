//! `prune [--dry-run] [--yes] [--json] [--all-installs --older-than D]`: deletes this install's
//! orphans, retired credentials past their grace and *to delete* credentials
//! (`credential::prune`); with `--all-installs --older-than D` (at least a day), also other
//! installs' tagged credentials created before now − D. Prints what it will delete (id,
//! comment, created, why) before deleting, then what it did. Asks first unless `--yes`;
//! `--dry-run` changes nothing. The plan is made under the provisioning lock, the lock is
//! released while a person answers, and the plan is made again under it before anything is
//! deleted: only what was shown and is still doomed goes.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::PruneArgs;
use crate::credential::{Purpose, Session, prune};
use crate::error::{CommandKind, Error};

/// The youngest `--all-installs --older-than`: a live node's credential is younger than its
/// `rotate_after`, so pair this with `rotate_after` below it on every node.
const MIN_OTHER_INSTALLS_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

pub fn run(args: &PruneArgs, out: &mut impl Write) -> Result<(), Error> {
    let older_than = match (args.all_installs, args.older_than.as_deref()) {
        (true, Some(text)) => {
            let age = crate::duration::parse(text, crate::config::MAX_LIFECYCLE_DURATION).map_err(
                |err| Error::command(CommandKind::Usage, format!("prune: --older-than: {err}")),
            )?;
            if age < MIN_OTHER_INSTALLS_AGE {
                return Err(Error::command(
                    CommandKind::Usage,
                    format!(
                        "prune: --older-than {text} is under a day: other installs' credentials that young may be in use; use at least 1d, and set rotate_after below it on every node so that a live node's credential is always younger"
                    ),
                ));
            }
            Some(age)
        }
        (true, None) => {
            return Err(Error::command(CommandKind::Usage,
                "prune: --all-installs needs --older-than D (for example 30d): other installs' credentials are deleted only when older than that".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(Error::command(
                CommandKind::Usage,
                "prune: --older-than applies only with --all-installs".into(),
            ));
        }
        (false, None) => None,
    };
    let fail = Error::failed("prune");
    let session = Session::open()?;
    let client = session.client(Purpose::Act).map_err(&fail)?;
    let doomed = {
        let locked = session
            .lock("pruning Deepgram credentials")
            .map_err(|err| fail(err.into()))?;
        prune::plan(&locked, client, older_than).map_err(&fail)?
    };
    let json = args.json;
    let dry_run = args.dry_run;
    if !json {
        let mut text = String::new();
        if doomed.is_empty() {
            text.push_str("nothing to prune\n");
        }
        for d in &doomed {
            text.push_str(&format!(
                "{} {} ({}): comment {:?}, created {}\n",
                if dry_run {
                    "would delete"
                } else {
                    "will delete"
                },
                d.id,
                d.reason,
                d.comment.as_deref().unwrap_or(""),
                d.created.as_deref().unwrap_or("(unknown)")
            ));
        }
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
    }
    if dry_run || doomed.is_empty() {
        if json {
            let value = json!({"dry_run": dry_run, "planned": doomed, "deleted": [], "already_gone": [], "failed": []});
            writeln!(out, "{value:#}").map_err(Error::Output)?;
        }
        return Ok(());
    }
    confirm(
        "prune",
        &format!(
            "delete {} Deepgram credential(s) listed above",
            doomed.len()
        ),
        args.yes,
    )?;
    // Again under the lock: what changed while the person read (another process's create,
    // rotation or prune) is planned anew, and only what was shown and is still doomed goes.
    let locked = session
        .lock("pruning Deepgram credentials")
        .map_err(|err| fail(err.into()))?;
    let still = prune::plan(&locked, client, older_than).map_err(&fail)?;
    let doomed: Vec<prune::Doomed> = doomed
        .into_iter()
        .filter(|d| still.iter().any(|s| s.id == d.id))
        .collect();
    let pruned = prune::execute(&locked, client, &doomed).map_err(&fail)?;
    drop(locked);
    if json {
        let failed: Vec<_> = pruned
            .failed
            .iter()
            .map(|(id, error)| json!({"id": id, "error": error}))
            .collect();
        let value = json!({
            "dry_run": false,
            "planned": doomed,
            "deleted": pruned.deleted,
            "already_gone": pruned.already_gone,
            "failed": failed,
        });
        writeln!(out, "{value:#}").map_err(Error::Output)?;
    } else {
        let mut text = String::new();
        for id in &pruned.deleted {
            text.push_str(&format!("deleted {id}\n"));
        }
        for id in &pruned.already_gone {
            text.push_str(&format!("{id} was already gone\n"));
        }
        for (id, error) in &pruned.failed {
            text.push_str(&format!("could not delete {id}: {error}\n"));
        }
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
    }
    if pruned.failed.is_empty() {
        Ok(())
    } else {
        Err(Error::command(
            CommandKind::Partial,
            format!(
                "prune: {} of {} deletes failed (listed above): fix the cause and run prune again",
                pruned.failed.len(),
                doomed.len()
            ),
        ))
    }
}
