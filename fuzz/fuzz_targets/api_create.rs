//! The answer to a create (`POST .../self-hosted/distribution/credentials`), flat or wrapped
//! in `{member, distribution_credentials}`.
//!
//! Invariants: no panic; a parsed credential has a non-empty id, username and secret, the
//! username is `deepgram+<id>` when the answer has none, and its `Debug` is the same
//! whatever the secret; an answer without a secret names the credential it created.
#![no_main]

use docker_credential_deepgram::deepgram::{self, ParseCreated};
use docker_credential_deepgram::secret::Secret;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match deepgram::parse_created(&value) {
        Ok(created) => {
            assert!(!created.id.is_empty());
            assert!(!created.username.is_empty());
            let secret = created.secret.expose();
            assert!(!secret.is_empty());
            let has_username = [&value, &value["distribution_credentials"]]
                .iter()
                .any(|v| v["username"].as_str().is_some_and(|u| !u.is_empty()));
            if !has_username {
                assert_eq!(created.username, format!("deepgram+{}", created.id));
            }
            // Debug is the same whatever the secret: it never shows it.
            let mut blank = created.clone();
            blank.secret = Secret::new("");
            assert_eq!(format!("{created:?}"), format!("{blank:?}"));
        }
        Err(ParseCreated::NoSecret(id)) => assert!(!id.is_empty()),
        Err(ParseCreated::Shape(reason)) => assert!(!reason.is_empty()),
    }
});
