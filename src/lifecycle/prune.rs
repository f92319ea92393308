//! `prune`: deletes the Deepgram credentials this install left behind — orphans (its
//! `[dcd:<install id>:…]` tag, but not stored here: an ambiguous create, a lost secret) and the
//! old credentials `rotate` could not delete (*to delete*) — and, with `--all-installs
//! --older-than D`, other installs' tagged credentials created before now − D.
//!
//! Never the credential stored here for any registry; never one without a `[dcd:…]` tag (made
//! by hand: not ours). [`plan`] only reads (list); [`execute`] deletes exactly what the plan
//! names, and clears the index records of what it deleted. Never prints a secret.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::LifecycleError;
use crate::config::Config;
use crate::deepgram::Client;
use crate::provision;
use crate::store::Store;
use crate::store::index::unix_now;

/// One credential `prune` will delete, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doomed {
    pub id: String,
    pub project_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `orphan`, `to delete` or `other install`.
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
    config: &Config,
    store: &Store,
    client: &Client,
    other_installs_older_than: Option<Duration>,
) -> Result<Vec<Doomed>, LifecycleError> {
    let index = store.index()?;
    let current: BTreeSet<&str> = index
        .entries
        .values()
        .filter_map(|entry| entry.provisioned.as_ref())
        .map(|meta| meta.id.as_str())
        .collect();
    let to_delete: BTreeSet<&str> = index.to_delete.iter().map(|t| t.id.as_str()).collect();
    let project_id = provision::resolve_project(config, client)?;
    let cutoff = other_installs_older_than.map(|age| unix_now().saturating_sub(age.as_secs()));
    let mut doomed = Vec::new();
    for credential in client.list_credentials(&project_id)? {
        if current.contains(credential.id.as_str()) {
            continue;
        }
        let Some(install) = credential.comment.as_deref().and_then(tag_install) else {
            continue; // made by hand (or by another tool): not ours to delete
        };
        let reason = if to_delete.contains(credential.id.as_str()) {
            "to delete"
        } else if index.install_id.as_deref() == Some(install) {
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
    // A *to delete* credential the list did not show (another project, or a list limited to
    // the key's own credentials) is still deleted by id.
    for old in &index.to_delete {
        if old.api_url == config.api_url.as_str() && !doomed.iter().any(|d| d.id == old.id) {
            doomed.push(Doomed {
                id: old.id.clone(),
                project_id: old.project_id.clone(),
                comment: old.comment.clone(),
                created: old.created.clone(),
                reason: "to delete",
            });
        }
    }
    Ok(doomed)
}

/// Deletes what `plan` named, one by one; a failure does not stop the rest. The index forgets
/// what is gone: *to delete* records and unfinished-create markers (by id or comment).
pub fn execute(
    store: &Store,
    client: &Client,
    doomed: &[Doomed],
) -> Result<Pruned, LifecycleError> {
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
    store.update_index(|index| {
        index
            .to_delete
            .retain(|old| !gone.iter().any(|d| d.id == old.id));
        index.unfinished.retain(|marker| {
            !gone.iter().any(|d| {
                marker.id.as_deref() == Some(d.id.as_str())
                    || d.comment.as_deref() == Some(marker.comment.as_str())
            })
        });
    })?;
    Ok(pruned)
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
