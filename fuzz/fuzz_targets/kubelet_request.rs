//! The kubelet's `CredentialProviderRequest` on stdin, the registry taken from its image, and
//! the response rendered for it.
//!
//! Invariants: a parsed request has a trimmed, non-empty image; its registry is lowercase,
//! non-empty, a prefix of the image unless it is Docker Hub, and canonical; the response is
//! JSON with the request's apiVersion and the registry as the only `auth` key.
#![no_main]

use docker_credential_deepgram::{kubelet, registry};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = kubelet::parse_request(data) else {
        return;
    };
    assert!(!request.image.is_empty());
    assert_eq!(request.image.trim(), request.image);
    let host = kubelet::image_registry(&request.image);
    assert!(!host.is_empty(), "{request:?}");
    assert_eq!(host, host.to_ascii_lowercase());
    assert!(!host.contains(['/', '@']), "{host:?}");
    if host != "docker.io" {
        assert!(
            request
                .image
                .to_ascii_lowercase()
                .starts_with(&format!("{host}/")),
            "{request:?} -> {host:?}"
        );
    }
    let key = registry::canonical(&host);
    assert_eq!(registry::canonical(&key), key, "{host:?}");

    let response = kubelet::render_response(
        request.api_version,
        Some(kubelet::Auth {
            registry: &host,
            username: "deepgram+fuzz",
            password: "pw",
        }),
        "12h0m0s",
    );
    let value: Value = serde_json::from_str(&response).unwrap();
    assert_eq!(value["apiVersion"], request.api_version.as_str());
    assert_eq!(value["kind"], "CredentialProviderResponse");
    let auth = value["auth"].as_object().unwrap();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[&host]["password"], "pw");
});
