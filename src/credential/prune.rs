//! `prune`: deletes the Deepgram credentials this install left behind — orphans (its
//! `[dcd:<install id>:…]` tag, but not stored here: an ambiguous create, a lost secret), the
//! retired credentials whose grace has passed and those whose delete failed (*to delete*) —
//! and, with `--all-installs --older-than D`, other installs' tagged credentials created
//! before now − D.
//!
//! Never the credential stored here for any registry, never a retiring one within its grace,
//! never one whose create is in flight (the marker of a live process), never one without a
//! `[dcd:…]` tag (made by hand: not ours). Both steps take [`Locked`], so no `get` or `rotate`
//! of this install can create a credential between the list and the delete: [`plan`] only
//! reads (list); [`execute`] deletes exactly what the plan names, and clears the index records
//! of what it deleted (and the remembered failure of an ambiguous create it resolved). Never
//! prints a secret.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::session::Locked;
use super::{CredentialError, resolve_project};
use crate::deepgram::Client;
use crate::store::index::{Index, UnfinishedCreate, unix_now};

/// One credential `prune` will delete, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doomed {
    pub id: String,
    pub project_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `orphan`, `retired`, `to delete` or `other install`.
    pub reason: &'static str,
}

/// What [`execute`] did with each planned credential.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub deleted: Vec<String>,
    pub already_gone: Vec<String>,
    /// Id and the API's error.
    pub failed: Vec<(String, String)>,
}

/// The install id in a comment's `[dcd:<install id>:<create>]` tag.
pub fn tag_install(comment: &str) -> Option<&str> {
    let start = comment.rfind("[dcd:")? + "[dcd:".len();
    let tag = &comment[start..];
    let tag = &tag[..tag.find(']')?];
    let install = tag.split(':').next()?;
    (!install.is_empty()).then_some(install)
}

/// What `prune` would delete: read from the project's list and the index, nothing changed.
/// `other_installs_older_than`: `--all-installs --older-than D`.
pub fn plan(
    locked: &Locked,
    client: &Client,
    other_installs_older_than: Option<Duration>,
) -> Result<Vec<Doomed>, CredentialError> {
    let config = &locked.config;
    let index = locked.store.index()?;
    let now = unix_now();
    let current: BTreeSet<&str> = index
        .entries
        .values()
        .filter_map(|entry| entry.provisioned.as_ref())
        .map(|meta| meta.id.as_str())
        .collect();
    let retiring: BTreeSet<&str> = index
        .to_delete
        .iter()
        .filter(|t| t.is_retiring(now))
        .map(|t| t.id.as_str())
        .collect();
    let project_id = resolve_project(config, client)?;
    let cutoff = other_installs_older_than.map(|age| now.saturating_sub(age.as_secs()));
    let mut doomed = Vec::new();
    for credential in client.list_credentials(&project_id)? {
        if current.contains(credential.id.as_str()) || retiring.contains(credential.id.as_str()) {
            continue;
        }
        let Some(install) = credential.comment.as_deref().and_then(tag_install) else {
            continue; // made by hand (or by another tool): not ours to delete
        };
        let recorded = index.to_delete.iter().find(|t| t.id == credential.id);
        let reason = if let Some(old) = recorded {
            reason_of(old.delete_after)
        } else if index.install_id.as_deref() == Some(install) {
            if in_flight(&index, &credential.id, credential.comment.as_deref()) {
                continue; // another process's create, not yet stored: never an orphan
            }
            "orphan"
        } else {
            let created = credential
                .created
                .as_deref()
                .and_then(crate::rfc3339::parse);
            match (cutoff, created) {
                (Some(cutoff), Some(created)) if created < cutoff => "other install",
                _ => continue,
            }
        };
        doomed.push(Doomed {
            id: credential.id,
            project_id: project_id.clone(),
            comment: credential.comment,
            created: credential.created,
            reason,
        });
    }
    // A recorded credential the list did not show (another project, or a list limited to the
    // key's own credentials) is still deleted by id once its grace has passed.
    for old in &index.to_delete {
        if old.api_url == config.api_url.as_str()
            && !old.is_retiring(now)
            && !super::retire::is_current(&index, old)
            && !doomed.iter().any(|d| d.id == old.id)
        {
            doomed.push(Doomed {
                id: old.id.clone(),
                project_id: old.project_id.clone(),
                comment: old.comment.clone(),
                created: old.created.clone(),
                reason: reason_of(old.delete_after),
            });
        }
    }
    Ok(doomed)
}

fn reason_of(delete_after: Option<u64>) -> &'static str {
    match delete_after {
        Some(_) => "retired",
        None => "to delete",
    }
}

/// Whether credential `id` (with `comment`) is the create of a live process that has not
/// stored it yet. With the lock held no process of this config dir is creating, so this guards
/// a marker a process left while another config dir shares the install (a copied directory).
fn in_flight(index: &Index, id: &str, comment: Option<&str>) -> bool {
    index.unfinished.iter().any(|marker| {
        let same = marker.id.as_deref() == Some(id) || comment == Some(marker.comment.as_str());
        same && is_live(marker)
    })
}

/// The marker's process is still running (and not this one), and the marker is recent.
fn is_live(marker: &UnfinishedCreate) -> bool {
    const RECENT: u64 = 3600;
    marker.pid != std::process::id()
        && unix_now().saturating_sub(marker.started_at) < RECENT
        && crate::process::alive(marker.pid)
}

/// Deletes what `plan` named, one by one; a failure does not stop the rest. The index forgets
/// what is gone: *to delete* and retired records and unfinished-create markers (by id or
/// comment), and with them the remembered failure of the ambiguous create.
pub fn execute(
    locked: &Locked,
    client: &Client,
    doomed: &[Doomed],
) -> Result<Pruned, CredentialError> {
    let mut pruned = Pruned::default();
    for credential in doomed {
        match client.delete_credential(&credential.project_id, &credential.id) {
            Ok(true) => pruned.deleted.push(credential.id.clone()),
            Ok(false) => pruned.already_gone.push(credential.id.clone()),
            Err(err) => pruned.failed.push((credential.id.clone(), err.to_string())),
        }
    }
    let gone: Vec<&Doomed> = doomed
        .iter()
        .filter(|d| pruned.deleted.contains(&d.id) || pruned.already_gone.contains(&d.id))
        .collect();
    let resolved_keys = locked.store.update_index(|index| {
        index
            .to_delete
            .retain(|old| !gone.iter().any(|d| d.id == old.id));
        let mut keys = Vec::new();
        index.unfinished.retain(|marker| {
            let resolved = gone.iter().any(|d| {
                marker.id.as_deref() == Some(d.id.as_str())
                    || d.comment.as_deref() == Some(marker.comment.as_str())
            });
            if resolved {
                keys.push(marker.key.clone());
            }
            !resolved
        });
        keys
    })?;
    for key in resolved_keys {
        crate::outage::forget(&locked.config, &key);
    }
    Ok(pruned)
}

/// Resolves the unfinished creates (for `key`, or all) with one list: each one the list shows
/// (by id or comment) and that is not in use is deleted; each one it does not show never
/// landed. Their markers and the remembered failure go. Returns what it did, in words.
pub fn resolve_orphans(
    locked: &Locked,
    client: &Client,
    project_id: &str,
    key: Option<&str>,
) -> Result<String, CredentialError> {
    let index = locked.store.index()?;
    let markers: Vec<UnfinishedCreate> = index
        .possible_orphans()
        .filter(|m| key.is_none_or(|key| m.key == key))
        .filter(|m| m.api_url.is_empty() || m.api_url == locked.config.api_url.as_str())
        .filter(|m| !is_live(m))
        .cloned()
        .collect();
    if markers.is_empty() {
        return Ok("nothing left to resolve".into());
    }
    let listed = client.list_credentials(project_id)?;
    let mut doomed = Vec::new();
    for marker in &markers {
        let found = listed.iter().find(|info| {
            marker.id.as_deref() == Some(info.id.as_str())
                || info.comment.as_deref() == Some(marker.comment.as_str())
        });
        if let Some(info) = found {
            doomed.push(Doomed {
                id: info.id.clone(),
                project_id: project_id.to_string(),
                comment: Some(marker.comment.clone()),
                created: info.created.clone(),
                reason: "orphan",
            });
        }
    }
    let pruned = execute(locked, client, &doomed)?;
    let never_landed: Vec<&UnfinishedCreate> = markers
        .iter()
        .filter(|m| {
            !doomed
                .iter()
                .any(|d| d.comment.as_deref() == Some(&m.comment))
        })
        .collect();
    locked.store.update_index(|index| {
        index
            .unfinished
            .retain(|m| !never_landed.iter().any(|gone| gone.comment == m.comment));
    })?;
    for marker in &never_landed {
        crate::outage::forget(&locked.config, &marker.key);
    }
    let mut said = Vec::new();
    if !pruned.deleted.is_empty() {
        said.push(format!("deleted its orphan {}", pruned.deleted.join(", ")));
    }
    if !never_landed.is_empty() {
        said.push(format!("{} never reached Deepgram", never_landed.len()));
    }
    for (id, err) in &pruned.failed {
        said.push(format!("could not delete orphan {id} ({err})"));
    }
    Ok(said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_is_read_from_the_last_tag_of_a_comment() {
        assert_eq!(
            tag_install("docker-credential-deepgram on host [dcd:0123456789ab:a1b2c3]"),
            Some("0123456789ab")
        );
        assert_eq!(tag_install("x [dcd:aaa] y [dcd:bbb:1]"), Some("bbb"));
        assert_eq!(tag_install("made by hand"), None);
        assert_eq!(tag_install("broken [dcd:abc"), None);
        assert_eq!(tag_install("[dcd:]"), None);
    }
}
