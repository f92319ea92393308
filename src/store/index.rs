//! The non-secret index beside the config: what `list` shows and what a later `status`,
//! `rotate` or `prune` needs to know about provisioned credentials.
//!
//! Holds server names, usernames, which backend holds each secret, the metadata of credentials
//! this install created (id, created time, scopes, comment, project), a per-install tag, a
//! marker for every create that started and was not stored (a possible orphan, kept until it
//! is resolved), the old credentials `rotate` replaced but could not delete (*to delete*, until
//! `prune`), and the write-ahead intents of store and erase operations in progress (so the
//! next command can finish or undo what a killed one left half done). Never a secret or an API
//! key. Written atomically, under the store lock held by [`super::Store`].

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
    /// Creates that were (or were about to be) sent and whose secret is not stored: possible
    /// orphans in the Deepgram project, oldest first. A marker goes only when its credential
    /// is stored, when the API said it created nothing, or (later) when `prune` deletes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<UnfinishedCreate>,
    /// Store and erase operations that started and have not finished: written before the
    /// backend is touched, removed after the index reflects the result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
    /// Credentials this install replaced (`rotate`) whose remote delete failed: still in the
    /// Deepgram project, no longer used; `prune` deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_delete: Vec<ToDelete>,
    /// Which backend holds the API key saved by `login` (`keyring` or `file`; never the key),
    /// so that a process that cannot reach the keychain can tell "saved where I cannot look"
    /// from "none saved".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_backend: Option<String>,
    /// The `cacheDuration` the kubelet mode last answered, in seconds: a retired credential
    /// stays live at least that long, since the kubelet may keep answering it from its cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_cache_secs: Option<u64>,
    /// The one-per-registry markers of earlier versions; read, folded into `unfinished`.
    #[serde(default, rename = "pending", skip_serializing)]
    legacy_pending: BTreeMap<String, LegacyPending>,
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
    /// Unix seconds of the last time the API confirmed it exists (creating it counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<u64>,
    /// Unix seconds of the last check or rotation that got no usable answer: none is tried
    /// again for a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_failed_at: Option<u64>,
    /// Unix seconds when this install stored it: its age for `rotate_after` starts at the
    /// later of this and `created`, so no clock can make a fresh credential look old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_at: Option<u64>,
    /// Automatic rotations of it that failed in a row: each waits twice as long as the last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rotation_failures: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A credential this install no longer uses whose remote delete has not happened yet: one
/// *retiring* (replaced by `rotate` or forgotten by `erase`, kept live until `delete_after` so
/// that its copies keep working), or one whose delete failed (*to delete*).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ToDelete {
    /// The canonical registry key it was used for.
    pub key: String,
    pub id: String,
    pub project_id: String,
    pub api_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Why the delete did not happen (the API's answer, or why it is retiring), for `status`.
    pub reason: String,
    /// Unix seconds before which it is not deleted (its grace period); none: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<u64>,
}

impl ToDelete {
    /// Still within its grace period at `now`.
    pub fn is_retiring(&self, now: u64) -> bool {
        self.delete_after.is_some_and(|after| now < after)
    }
}

/// A create that may have left a credential in the Deepgram project without a stored secret.
/// Everything `prune` needs to find exactly that credential: the project and API, the
/// comment (unique per create), and the id once the API told us.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnfinishedCreate {
    /// The canonical registry key it was created for.
    pub key: String,
    pub project_id: String,
    pub api_url: String,
    pub comment: String,
    /// Known when the API answered and storing the secret failed or was interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unix seconds when the request was about to be sent.
    pub started_at: u64,
    pub pid: u32,
}

impl UnfinishedCreate {
    /// Whether this marker describes the credential `provisioned` (so it is not an orphan).
    pub fn is(&self, provisioned: &Provisioned) -> bool {
        self.id.as_deref() == Some(provisioned.id.as_str())
            || provisioned.comment.as_deref() == Some(self.comment.as_str())
    }
}

/// A backend operation in progress, recorded before the backend is touched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Intent {
    /// Writing `username`'s record for `key` to `backend`; then the entry below goes in.
    Put {
        key: String,
        server_url: String,
        username: String,
        backend: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provisioned: Option<Box<Provisioned>>,
        pid: u32,
    },
    /// Removing `key` from every backend `get` reads (its entry is already out of the index).
    Erase { key: String, pid: u32 },
}

impl Intent {
    /// The canonical registry key it is about.
    pub fn key(&self) -> &str {
        match self {
            Intent::Put { key, .. } | Intent::Erase { key, .. } => key,
        }
    }
}

/// A created credential whose secret could not be stored: its marker (found by its unique
/// comment) gets the id, or a new marker names it, so it stays findable until resolved.
pub fn note_lost_secret(index: &mut Index, key: &str, created: &Provisioned, pid: u32) {
    let comment = created.comment.clone().unwrap_or_default();
    if let Some(marker) = index
        .unfinished
        .iter_mut()
        .find(|marker| !comment.is_empty() && marker.comment == comment)
    {
        marker.id = Some(created.id.clone());
        return;
    }
    index.unfinished.push(UnfinishedCreate {
        key: key.to_string(),
        project_id: created.project_id.clone(),
        api_url: created.api_url.clone(),
        comment,
        id: Some(created.id.clone()),
        started_at: unix_now(),
        pid,
    });
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
struct LegacyPending {
    started_at: u64,
    project_id: String,
    comment: String,
    pid: u32,
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
        let mut index: Index =
            serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt {
                path: path.clone(),
                detail: err.to_string(),
            })?;
        if index.version != VERSION {
            return Err(StoreError::Corrupt {
                path,
                detail: format!("unknown version {}", index.version),
            });
        }
        for (key, old) in std::mem::take(&mut index.legacy_pending) {
            index.unfinished.push(UnfinishedCreate {
                key,
                project_id: old.project_id,
                api_url: String::new(),
                comment: old.comment,
                id: None,
                started_at: old.started_at,
                pid: old.pid,
            });
        }
        Ok(index)
    }

    /// Whether a command must take the store lock to finish what another one left.
    pub fn needs_recovery(&self) -> bool {
        !self.intents.is_empty()
    }

    /// Markers for anything but the credentials stored now.
    pub fn possible_orphans(&self) -> impl Iterator<Item = &UnfinishedCreate> {
        self.unfinished.iter().filter(|marker| {
            !self
                .entries
                .values()
                .filter_map(|entry| entry.provisioned.as_ref())
                .any(|stored| marker.is(stored))
        })
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

    #[test]
    fn intents_and_markers_have_a_stable_json_shape() {
        let mut index = Index {
            version: VERSION,
            ..Index::default()
        };
        index.intents.push(Intent::Erase {
            key: "quay.io".into(),
            pid: 7,
        });
        index.unfinished.push(UnfinishedCreate {
            key: "quay.io".into(),
            project_id: "p".into(),
            api_url: "https://api.deepgram.com".into(),
            comment: "c [dcd:0123456789ab:abcdef]".into(),
            id: None,
            started_at: 1,
            pid: 7,
        });
        let json = serde_json::to_value(&index).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1,
                "entries": {},
                "unfinished": [{"key": "quay.io", "project_id": "p",
                    "api_url": "https://api.deepgram.com",
                    "comment": "c [dcd:0123456789ab:abcdef]", "started_at": 1, "pid": 7}],
                "intents": [{"op": "erase", "key": "quay.io", "pid": 7}],
            })
        );
    }

    #[test]
    fn markers_of_earlier_versions_are_kept_as_possible_orphans() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            Index::path(dir.path()),
            r#"{"version":1,"entries":{},"pending":{"quay.io":{"started_at":5,"project_id":"p","comment":"c [dcd:x]","pid":9}}}"#,
        )
        .unwrap();
        let index = Index::load(dir.path()).unwrap();
        assert_eq!(index.unfinished.len(), 1);
        assert_eq!(index.unfinished[0].comment, "c [dcd:x]");
        assert_eq!(index.possible_orphans().count(), 1);
    }
}
