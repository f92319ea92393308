//! The non-secret index beside the config: what `list` shows and what a later `status`,
//! `rotate` or `prune` needs to know about provisioned credentials.
//!
//! Holds server names, usernames, which backend holds each secret, the metadata of credentials
//! this install created (id, created time, scopes, comment, project), a per-install tag, and a
//! marker for a create that started but has not finished. Never a secret or an API key.
//! Written atomically, under the store lock held by [`super::Store`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::files;

pub const FILE_NAME: &str = "index.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    pub version: u32,
    /// Stable random tag put into every credential comment this install creates, so that a
    /// later command can find them among the project's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_id: Option<String>,
    /// Canonical registry key → entry.
    #[serde(default)]
    pub entries: BTreeMap<String, IndexEntry>,
    /// Canonical registry key → a create that was sent and not (yet) recorded as finished.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, PendingCreate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexEntry {
    /// The server name as the client spelled it when storing (what `list` shows).
    pub server_url: String,
    pub username: String,
    /// `keyring` or `file`.
    pub backend: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<Provisioned>,
}

/// What the API told us about a credential we created (everything but the secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provisioned {
    pub id: String,
    pub project_id: String,
    pub api_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingCreate {
    /// Unix seconds when the request was about to be sent.
    pub started_at: u64,
    pub project_id: String,
    pub comment: String,
    pub pid: u32,
}

impl Index {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The index in `dir`; an empty one when there is none yet.
    pub fn load(dir: &Path) -> Result<Index, StoreError> {
        let path = Index::path(dir);
        let bytes = files::read_optional(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        let Some(bytes) = bytes else {
            return Ok(Index {
                version: VERSION,
                ..Index::default()
            });
        };
        let index: Index = serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt {
            path: path.clone(),
            detail: err.to_string(),
        })?;
        if index.version != VERSION {
            return Err(StoreError::Corrupt {
                path,
                detail: format!("unknown version {}", index.version),
            });
        }
        Ok(index)
    }

    /// Writes the index to `dir` atomically (0600: it names accounts, if not secrets).
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let path = Index::path(dir);
        files::write_private_json(&path, self).map_err(|source| StoreError::Io { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_index_is_empty_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::load(dir.path()).unwrap();
        assert!(index.entries.is_empty());
        index.entries.insert(
            "quay.io".into(),
            IndexEntry {
                server_url: "https://quay.io".into(),
                username: "deepgram+1".into(),
                backend: "file".into(),
                provisioned: None,
            },
        );
        index.save(dir.path()).unwrap();
        assert_eq!(Index::load(dir.path()).unwrap(), index);
    }
}
