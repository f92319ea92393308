//! `status --remote`: every distribution credential the API key can see in the project, and
//! its relation to this install. Reads only (one list); never a secret.

use serde::Serialize;

use super::LifecycleError;
use super::prune::tag_install;
use crate::config::Config;
use crate::deepgram::{Client, CredentialInfo};
use crate::provision;
use crate::store::Store;

/// A remote credential as `status --remote` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Remote {
    #[serde(flatten)]
    pub info: CredentialInfo,
    /// `current` (stored here, for `registry`), `orphan` (this install's tag, not stored here)
    /// or `other` (another install's tag, or made by hand).
    pub relation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

/// The project and what its list shows. A key without `members:read` sees only its own
/// credentials (deepgram-api.md §1.1).
pub fn view(
    config: &Config,
    store: &Store,
    client: &Client,
) -> Result<(String, Vec<Remote>), LifecycleError> {
    let index = store.index()?;
    let project_id = provision::resolve_project(config, client)?;
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
            let relation = match (&registry, ours) {
                (Some(_), _) => "current",
                (None, true) => "orphan",
                (None, false) => "other",
            };
            Remote {
                info,
                relation,
                registry,
            }
        })
        .collect();
    Ok((project_id, remote))
}
