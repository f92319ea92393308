//! The credential path, with one owner: reading, checking, creating, rotating, retiring,
//! revoking and pruning the Deepgram distribution credentials this install uses.
//!
//! Everything runs over a per-run [`Session`] (configuration, store, the API key read once,
//! API clients built lazily). What changes remote state takes [`Locked`], which only
//! [`Session::lock`] makes: the provisioning lock is taken in that one place, and the compiler
//! checks that every create, replace, rotation, retirement and delete holds it.
//!
//! [`serve`] answers `get`, the kubelet mode and `export`: the stored credential (the hot
//! path: one store read and one index read, no HTTP client unless a check is due), else a new
//! one. Its [`Answer`] says how it was answered ([`How`]), which the call log records.
//! Submodules: `create` (fetch-or-create), `check` (the due check, self-healing and automatic
//! rotation), `rotate`, `retire` (the grace period of replaced credentials), `revoke`,
//! `prune`, `remote` (`status --remote`). Never prints, logs or stores a secret or the API key
//! where it does not belong.

mod check;
mod create;
mod error;
pub mod prune;
pub mod remote;
pub mod retire;
pub mod revoke;
pub mod rotate;
mod session;

pub use check::confirmed_presence;
pub use create::{Created, resolve_project};
pub use error::CredentialError;
pub use session::{
    CHECK_TIME_LIMIT, Locked, PROVISION_LOCK, Purpose, Session, build_client, read_api_key,
};

use crate::store::StoredCredential;
use crate::store::index::{Provisioned, UnfinishedCreate};

/// How a credential was answered, for the call log and the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// From the store.
    Hit,
    /// Created by this process's request.
    Created { id: String },
    /// Created by another process while this one waited for it.
    Waited,
    /// The stored one was deleted remotely; this process created its replacement.
    Healed { id: String },
    /// The stored one was older than `rotate_after`; this process rotated it.
    Rotated { id: String },
}

impl How {
    /// The call log's word for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            How::Hit => "hit",
            How::Created { .. } => "created",
            How::Waited => "waited",
            How::Healed { .. } => "healed",
            How::Rotated { .. } => "rotated",
        }
    }
}

/// A credential and how it was answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub credential: StoredCredential,
    pub how: How,
}

/// What [`serve`] found.
#[derive(Debug)]
pub enum Outcome {
    Served(Answer),
    /// Not a provisioning registry, or provisioning is off.
    NotProvisioned,
    /// A provisioning registry, but no API key: the hint says how to set one.
    NoApiKey(String),
    /// A provisioning registry, but the API is unreachable (now, or within `failure_backoff`):
    /// Docker's not-found, so public images still pull; the hint says why.
    Unavailable(String),
}

/// The credential for `key` (canonical), as `get`, the kubelet and `export` answer it: the
/// stored one (checked with the API when a check is due), else a newly provisioned one.
pub fn serve(session: &Session, key: &str) -> Result<Outcome, CredentialError> {
    match session.store.get(key)? {
        Some(credential) => check::stored(session, key, credential),
        None => create::fetch_or_create(session, key),
    }
}

/// The registry a command acts on: `--registry` (normalised like `get`), else the first
/// provisioning registry.
pub fn target_key(config: &crate::config::Config, registry: Option<&str>) -> String {
    match registry {
        Some(registry) => crate::registry::canonical(registry),
        None => config
            .registries
            .first()
            .cloned()
            .unwrap_or_else(|| crate::config::DEFAULT_REGISTRIES[0].to_string()),
    }
}

/// The username and metadata of the credential stored for `key`, if this install created it
/// through the configured API; otherwise why not.
pub fn ours(session: &Session, key: &str) -> Result<(String, Provisioned), CredentialError> {
    let index = session.store.index()?;
    let entry = index
        .entries
        .get(key)
        .ok_or_else(|| CredentialError::NothingStored {
            key: key.to_string(),
        })?;
    let meta = entry
        .provisioned
        .clone()
        .ok_or_else(|| CredentialError::NotOurs {
            key: key.to_string(),
        })?;
    if meta.api_url != session.config.api_url.as_str() {
        return Err(CredentialError::OtherApi {
            key: key.to_string(),
            api_url: meta.api_url,
            configured: session.config.api_url.to_string(),
        });
    }
    Ok((entry.username.clone(), meta))
}

/// How a possible orphan is found in the Console: its id, else its unique comment.
pub fn orphan_name(marker: &UnfinishedCreate) -> String {
    match &marker.id {
        Some(id) => format!("{id} (comment \"{}\")", marker.comment),
        None => format!("with the comment \"{}\"", marker.comment),
    }
}
