//! `rotate [--registry R] [--yes] [--json]`: replaces the Deepgram credential this install uses
//! for R (default: the first provisioning registry) with a new one, then retires the old one
//! (`credential::rotate`): it stays live for `rotate_grace`, or is deleted at once with `0s`.
//! Asks first unless `--yes`. Prints what it did; never a secret.

use std::io::Write;

use serde_json::json;

use super::confirm::confirm;
use crate::cli::RotateArgs;
use crate::credential::{self, Session, rotate::rotate};
use crate::error::Error;
use crate::store::index::unix_now;

pub fn run(args: &RotateArgs, out: &mut impl Write) -> Result<(), Error> {
    let session = Session::open()?;
    let key = credential::target_key(&session.config, args.registry.as_deref());
    let fail = Error::failed("rotate");
    let (username, meta) = credential::ours(&session, &key).map_err(&fail)?;
    let grace = session.config.rotate_grace;
    let old_fate = if grace.is_zero() {
        "delete".to_string()
    } else {
        format!(
            "retire {} ({username}, live until {}, then deleted)",
            meta.id,
            crate::rfc3339::format(unix_now().saturating_add(grace.as_secs()))
        )
    };
    confirm(
        "rotate",
        &format!(
            "create a new Deepgram credential for {key} in project {} and {old_fate}{}",
            meta.project_id,
            if grace.is_zero() {
                format!(" {} ({username})", meta.id)
            } else {
                String::new()
            }
        ),
        args.yes,
    )?;
    let rotated = rotate(&session, &key, Some(&meta.id)).map_err(&fail)?;
    if args.json {
        use credential::retire::Fate;
        let value = json!({
            "registry": rotated.key,
            "old_id": rotated.old_id,
            "new_id": rotated.new_id,
            "username": rotated.new_username,
            "old": rotated.fate,
            "old_deleted": rotated.fate == Fate::Deleted,
            "old_already_gone": rotated.fate == Fate::AlreadyGone,
            "old_retiring_until": match &rotated.fate {
                Fate::Retiring { until } => Some(crate::rfc3339::format(*until)),
                _ => None,
            },
            "old_to_delete": matches!(rotated.fate, Fate::ToDelete { .. }),
            "delete_error": match &rotated.fate {
                Fate::ToDelete { reason } => Some(reason.clone()),
                _ => None,
            },
        });
        return writeln!(out, "{value:#}").map_err(Error::Output);
    }
    let mut text = format!(
        "rotated the Deepgram credential for {}: now {} ({})\n",
        rotated.key, rotated.new_id, rotated.new_username
    );
    text.push_str(&rotated.old_fate());
    text.push('\n');
    out.write_all(text.as_bytes()).map_err(Error::Output)
}
