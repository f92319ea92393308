//! A redacting wrapper for every secret and API key the helper handles.
//!
//! `Secret` has no `Display`, and its `Debug` prints `REDACTED`, so a secret can only reach
//! output through an explicit [`Secret::expose`] — used at the HTTP header, the keychain call
//! and the protocol writer, nowhere else. The value lives in a `zeroize::Zeroizing<String>`,
//! so its bytes are overwritten when the last copy is dropped rather than left in freed memory.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A string that must never be printed or logged, wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The raw value. Call sites are the few places a secret may legitimately go.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "REDACTED");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(REDACTED)");
    }

    #[test]
    fn serde_round_trips_the_raw_value() {
        let json = serde_json::to_string(&Secret::new("a\"b")).unwrap();
        assert_eq!(json, r#""a\"b""#);
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "a\"b");
    }

    #[test]
    fn the_value_is_backed_by_a_zeroizing_buffer() {
        // The wiping itself is zeroize's (tested there); this pins that Secret uses it, so
        // that a refactor back to a plain String fails here.
        let secret = Secret::new("hunter2");
        let inner: &Zeroizing<String> = &secret.0;
        assert_eq!(inner.as_str(), "hunter2");
    }
}
