//! `prune [--dry-run] [--yes] [--json] [--all-installs --older-than D]`: deletes this install's
//! orphans and *to delete* credentials (`lifecycle::prune`); with `--all-installs --older-than
//! D`, also other installs' tagged credentials created before now − D. Prints what it will
//! delete (id, comment, created, why) before deleting, then what it did. Asks first unless
//! `--yes`; `--dry-run` changes nothing.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::PruneArgs;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::{self, LifecycleError, prune};
use crate::store::Store;

pub fn run(args: &PruneArgs, out: &mut impl Write) -> Result<(), Error> {
    let older_than = match (args.all_installs, args.older_than.as_deref()) {
        (true, Some(text)) => Some(
            crate::duration::parse(text, crate::config::MAX_LIFECYCLE_DURATION)
                .map_err(|err| Error::Command(format!("prune: --older-than: {err}")))?,
        ),
        (true, None) => {
            return Err(Error::Command(
                "prune: --all-installs needs --older-than D (for example 30d): other installs' credentials are deleted only when older than that".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(Error::Command(
                "prune: --older-than applies only with --all-installs".into(),
            ));
        }
        (false, None) => None,
    };
    let fail = |err: LifecycleError| Error::Command(format!("prune: {err}"));
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let client = lifecycle::full_client(&config, &store).map_err(fail)?;
    let doomed = prune::plan(&config, &store, &client, older_than).map_err(fail)?;
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
    let pruned = prune::execute(&store, &client, &doomed).map_err(fail)?;
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
        Err(Error::Command(format!(
            "prune: {} of {} deletes failed (listed above): fix the cause and run prune again",
            pruned.failed.len(),
            doomed.len()
        )))
    }
}
