//! `rotate` and `rotate_after`: replaces the credential this install uses for a registry with a
//! new one, and retires the old one.
//!
//! The registry is never left without a working stored credential: under the provisioning
//! lock ([`Locked`]), the new credential is created and stored first (a failed create leaves
//! the old one in place), and only then is the old one retired (`retire`): kept live for
//! `rotate_grace` so that its copies (an exported pull secret, the kubelet's cache) keep
//! working, then deleted by a due `get` or `prune`; with `rotate_grace = 0s` deleted at once.
//! Never prints a secret.

use super::create::create_replacement;
use super::retire::{self, Fate};
use super::session::{Locked, Session};
use super::{CredentialError, ours};
use crate::store::StoredCredential;
use crate::store::index::Provisioned;

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub key: String,
    pub old_id: String,
    pub new_id: String,
    pub new_username: String,
    /// The new credential, as stored.
    pub credential: StoredCredential,
    /// What became of the old one.
    pub fate: Fate,
}

impl Rotated {
    /// What became of the old credential, in words.
    pub fn old_fate(&self) -> String {
        self.fate.describe(&self.old_id)
    }
}

/// Rotates `key`'s credential (the `rotate` command); `expected` is the id the person
/// confirmed, if any: another process's rotation in between is not rotated again.
pub fn rotate(
    session: &Session,
    key: &str,
    expected: Option<&str>,
) -> Result<Rotated, CredentialError> {
    let locked = session.lock(&format!("rotating the Deepgram credential for {key}"))?;
    let (_, old) = ours(&locked, key)?;
    if let Some(expected) = expected.filter(|id| *id != old.id) {
        crate::warn!(
            "the credential for {key} changed from {expected} to {} since you confirmed; rotating {}",
            old.id,
            old.id
        );
    }
    rotate_locked(&locked, key, &old)
}

/// The rotation itself, under the lock, of `old` (read under it).
pub(super) fn rotate_locked(
    locked: &Locked,
    key: &str,
    old: &Provisioned,
) -> Result<Rotated, CredentialError> {
    // Write-ahead: the old one is recorded as retiring first, so a crash after the new one is
    // stored leaves nothing untracked.
    let until = retire::intend(locked, key, old)?;
    let created = match create_replacement(locked, key) {
        Ok(created) => created,
        Err(err) => {
            retire::cancel(locked, old);
            return Err(err);
        }
    };
    let fate = retire::retire(locked, key, old, until);
    Ok(Rotated {
        key: key.to_string(),
        old_id: old.id.clone(),
        new_id: created.meta.id,
        new_username: created.credential.username.clone(),
        credential: created.credential,
        fate,
    })
}
