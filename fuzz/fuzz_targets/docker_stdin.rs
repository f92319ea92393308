//! Docker's stdin: the server name `get` and `erase` read, the JSON object `store` reads, and
//! the canonical registry key every server name becomes.
//!
//! Invariants: a parsed server name is trimmed and on one line; its canonical key is
//! idempotent, has a lowercase host and no trailing `/`, and names the same registry as the
//! input; parsed credentials are complete, and what `get` and `list` would answer for them
//! reads back as exactly the same values.
#![no_main]

use std::collections::BTreeMap;

use docker_credential_deepgram::{protocol, registry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = protocol::read_input(data) else {
        return;
    };
    if let Ok(server) = protocol::parse_server(&text) {
        assert!(!server.is_empty());
        assert_eq!(server.trim(), server);
        assert!(!server.contains(['\r', '\n']), "{server:?}");
        check_key(&server);
    }
    if let Ok(credentials) = protocol::parse_store(&text) {
        assert!(!credentials.server_url.is_empty());
        assert_eq!(credentials.server_url.trim(), credentials.server_url);
        assert!(!credentials.username.is_empty());
        check_key(&credentials.server_url);

        let mut get = Vec::new();
        protocol::write_get(
            &mut get,
            &credentials.server_url,
            &credentials.username,
            &credentials.secret,
        )
        .unwrap();
        assert!(get.ends_with(b"}\n"));
        assert_eq!(get.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let answered = protocol::parse_store(std::str::from_utf8(&get).unwrap()).unwrap();
        assert_eq!(answered, credentials);

        let entries =
            BTreeMap::from([(credentials.server_url.clone(), credentials.username.clone())]);
        let mut list = Vec::new();
        protocol::write_list(&mut list, &entries).unwrap();
        let listed: BTreeMap<String, String> = serde_json::from_slice(&list).unwrap();
        assert_eq!(listed, entries);
    }
});

fn check_key(server: &str) {
    let key = registry::canonical(server);
    assert_eq!(
        registry::canonical(&key),
        key,
        "canonical is idempotent: {server:?}"
    );
    let host = key.split('/').next().unwrap();
    assert_eq!(host, host.to_ascii_lowercase(), "{server:?} -> {key:?}");
    assert!(!key.ends_with('/'), "{server:?} -> {key:?}");
    assert!(
        registry::same_registry(server, &key),
        "{server:?} -> {key:?}"
    );
}
