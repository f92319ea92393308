//! `status --remote`: every distribution credential the API key can see in the project, and
//! its relation to this install. Reads only (one list); never a secret.

use serde::Serialize;

use super::prune::tag_install;
use super::session::Session;
use super::{CredentialError, resolve_project};
use crate::deepgram::{Client, CredentialInfo};
use crate::store::index::unix_now;

/// A remote credential as `status --remote` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Remote {
    #[serde(flatten)]
    pub info: CredentialInfo,
    /// `current` (stored here, for `registry`), `retiring` (replaced or erased here, live until
    /// `delete_after`), `to delete` (its grace has passed, or its delete failed), `orphan` (this
    /// install's tag, not stored here) or `other` (another install's tag, or made by hand).
    pub relation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// For a retiring credential: when its grace ends (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<String>,
}

/// The project and what its list shows. A key without `members:read` sees only its own
/// credentials (deepgram-api.md §1.1).
pub fn view(session: &Session, client: &Client) -> Result<(String, Vec<Remote>), CredentialError> {
    let index = session.store.index()?;
    let now = unix_now();
    let project_id = resolve_project(&session.config, client)?;
    let remote = client
        .list_credentials(&project_id)?
        .into_iter()
        .map(|info| {
            let registry = index
                .entries
                .iter()
                .find(|(_, entry)| {
                    entry
                        .provisioned
                        .as_ref()
                        .is_some_and(|meta| meta.id == info.id)
                })
                .map(|(key, _)| key.clone());
            let ours = info.comment.as_deref().and_then(tag_install).is_some()
                && info.comment.as_deref().and_then(tag_install) == index.install_id.as_deref();
            let recorded = index.to_delete.iter().find(|t| t.id == info.id);
            let relation = match (&registry, recorded, ours) {
                (Some(_), _, _) => "current",
                (None, Some(old), _) if old.is_retiring(now) => "retiring",
                (None, Some(_), _) => "to delete",
                (None, None, true) => "orphan",
                (None, None, false) => "other",
            };
            Remote {
                info,
                relation,
                registry: registry.or_else(|| recorded.map(|old| old.key.clone())),
                delete_after: recorded
                    .and_then(|old| old.delete_after)
                    .map(crate::rfc3339::format),
            }
        })
        .collect();
    Ok((project_id, remote))
}
