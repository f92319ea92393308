//! The kubelet's exec credential-provider protocol (`credentialprovider.kubelet.k8s.io`), pure:
//! bytes in, strings out, no I/O.
//!
//! The kubelet writes a `CredentialProviderRequest` to the plugin's stdin and reads a
//! `CredentialProviderResponse` from its stdout. Its rules (kubernetes/kubelet
//! `pkg/apis/credentialprovider/v1/types.go`): the response's apiVersion must equal the
//! request's, `kind` is `CredentialProviderResponse`, `cacheKeyType` (`Image`, `Registry` or
//! `Global`) is required, `cacheDuration` is optional, and `auth` maps an image match pattern to
//! `{username, password}`. Also renders the kubelet's `CredentialProviderConfig` for
//! `configure --kubelet`. Never puts a password in an error.

use serde::Deserialize;
use serde_json::{Value, json};

/// The kubelet sends a few hundred bytes; anything near this is not a request.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
const GROUP: &str = "credentialprovider.kubelet.k8s.io";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V1beta1,
    V1alpha1,
}

impl ApiVersion {
    pub const ALL: [ApiVersion; 3] = [ApiVersion::V1, ApiVersion::V1beta1, ApiVersion::V1alpha1];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "credentialprovider.kubelet.k8s.io/v1",
            ApiVersion::V1beta1 => "credentialprovider.kubelet.k8s.io/v1beta1",
            ApiVersion::V1alpha1 => "credentialprovider.kubelet.k8s.io/v1alpha1",
        }
    }

    fn parse(text: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRequest {
    pub api_version: ApiVersion,
    pub image: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KubeletError {
    #[error("kubelet request is larger than 1 MiB: expected one CredentialProviderRequest")]
    TooLarge,
    #[error(
        "kubelet request is not valid JSON ({0}): expected a CredentialProviderRequest on stdin"
    )]
    NotJson(String),
    #[error(
        "kubelet request has kind {0:?}, expected \"CredentialProviderRequest\": is this binary configured as a credential provider with args [\"kubelet\"]?"
    )]
    WrongKind(String),
    #[error(
        "kubelet request has apiVersion {0:?}: supported are {GROUP}/v1, {GROUP}/v1beta1 and {GROUP}/v1alpha1; set apiVersion in the CredentialProviderConfig to one of them"
    )]
    UnknownApiVersion(String),
    #[error("kubelet request has no image: expected \"image\": \"<registry>/<repository>[:tag]\"")]
    MissingImage,
}

#[derive(Deserialize)]
struct RawRequest {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

/// Parses a `CredentialProviderRequest`; the service-account fields and unknown fields are
/// ignored.
pub fn parse_request(input: &[u8]) -> Result<ProviderRequest, KubeletError> {
    if input.len() > MAX_REQUEST_BYTES {
        return Err(KubeletError::TooLarge);
    }
    let value: Value =
        serde_json::from_slice(input).map_err(|err| KubeletError::NotJson(err.to_string()))?;
    if !value.is_object() {
        return Err(KubeletError::NotJson("not an object".into()));
    }
    let raw: RawRequest =
        serde_json::from_value(value).map_err(|err| KubeletError::NotJson(err.to_string()))?;
    let kind = raw.kind.unwrap_or_default();
    if kind != "CredentialProviderRequest" {
        return Err(KubeletError::WrongKind(kind));
    }
    let version = raw.api_version.unwrap_or_default();
    let api_version =
        ApiVersion::parse(&version).ok_or(KubeletError::UnknownApiVersion(version))?;
    let image = raw
        .image
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .ok_or(KubeletError::MissingImage)?;
    Ok(ProviderRequest { api_version, image })
}

/// The registry host[:port] of an image reference, by Docker's rule: the first path component
/// is a registry when it contains `.` or `:` or is `localhost`; otherwise the image is on
/// Docker Hub (`docker.io`).
pub fn image_registry(image: &str) -> String {
    let image = image.trim();
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_ascii_lowercase()
        }
        _ => "docker.io".to_string(),
    }
}

/// Credentials for one registry in a response.
pub struct Auth<'a> {
    pub registry: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

/// A `CredentialProviderResponse` with the request's apiVersion, cached per registry; `auth`
/// is empty when there is nothing to give.
pub fn render_response(version: ApiVersion, auth: Option<Auth>, cache_duration: &str) -> String {
    let mut entries = serde_json::Map::new();
    if let Some(auth) = auth {
        entries.insert(
            auth.registry.to_string(),
            json!({"username": auth.username, "password": auth.password}),
        );
    }
    let response = json!({
        "apiVersion": version.as_str(),
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": cache_duration,
        "auth": Value::Object(entries),
    });
    format!("{response}\n")
}

/// A kubelet `CredentialProviderConfig` (YAML) with one provider: this binary in kubelet
/// mode for the given registries.
///
/// `matchImages` globs match host and path component by component and a pattern without a
/// path matches every image of that host (kubelet `credentialprovider/plugin` `URLsMatch`),
/// so the bare registry name covers all its images.
pub fn render_provider_config(
    registries: &[String],
    plugin_name: &str,
    cache_duration: &str,
    env: &[(String, String)],
) -> String {
    let mut yaml = String::from(
        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n",
    );
    yaml.push_str(&format!("  - name: {}\n", yaml_string(plugin_name)));
    yaml.push_str("    matchImages:\n");
    for registry in registries {
        yaml.push_str(&format!("      - {}\n", yaml_string(registry)));
    }
    yaml.push_str(&format!(
        "    defaultCacheDuration: {}\n",
        yaml_string(cache_duration)
    ));
    yaml.push_str(&format!("    apiVersion: {}\n", ApiVersion::V1.as_str()));
    yaml.push_str("    args:\n      - kubelet\n");
    if env.is_empty() {
        yaml.push_str("    env: []\n");
    } else {
        yaml.push_str("    env:\n");
        for (name, value) in env {
            yaml.push_str(&format!(
                "      - name: {}\n        value: {}\n",
                yaml_string(name),
                yaml_string(value)
            ));
        }
    }
    yaml
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn yaml_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: &str) -> String {
        format!(
            r#"{{"apiVersion":"{version}","kind":"CredentialProviderRequest","image":"quay.io/deepgram/self-hosted-api:release-260812","serviceAccountToken":"x","serviceAccountAnnotations":{{}}}}"#
        )
    }

    #[test]
    fn every_supported_version_is_echoed_in_the_response() {
        for version in ApiVersion::ALL {
            let parsed = parse_request(request(version.as_str()).as_bytes()).unwrap();
            assert_eq!(parsed.api_version, version);
            assert_eq!(
                parsed.image,
                "quay.io/deepgram/self-hosted-api:release-260812"
            );
            let response = render_response(
                parsed.api_version,
                Some(Auth {
                    registry: "quay.io",
                    username: "deepgram+id",
                    password: "pw",
                }),
                "12h0m0s",
            );
            assert_eq!(
                response,
                format!(
                    "{{\"apiVersion\":\"{}\",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"12h0m0s\",\"auth\":{{\"quay.io\":{{\"username\":\"deepgram+id\",\"password\":\"pw\"}}}}}}\n",
                    version.as_str()
                )
            );
        }
    }

    #[test]
    fn no_credentials_is_a_valid_response_with_empty_auth() {
        assert_eq!(
            render_response(ApiVersion::V1, None, "12h0m0s"),
            "{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"12h0m0s\",\"auth\":{}}\n"
        );
    }

    #[test]
    fn bad_requests_are_clear_errors() {
        assert!(matches!(
            parse_request(b"not json"),
            Err(KubeletError::NotJson(_))
        ));
        assert!(matches!(
            parse_request(b"[]"),
            Err(KubeletError::NotJson(_))
        ));
        assert_eq!(
            parse_request(br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"Pod","image":"a/b"}"#),
            Err(KubeletError::WrongKind("Pod".into()))
        );
        assert_eq!(
            parse_request(br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v2","kind":"CredentialProviderRequest","image":"a/b"}"#),
            Err(KubeletError::UnknownApiVersion("credentialprovider.kubelet.k8s.io/v2".into()))
        );
        assert_eq!(
            parse_request(br#"{"kind":"CredentialProviderRequest","image":"a/b"}"#),
            Err(KubeletError::UnknownApiVersion(String::new()))
        );
        assert_eq!(
            parse_request(br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":" "}"#),
            Err(KubeletError::MissingImage)
        );
        let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(parse_request(&huge), Err(KubeletError::TooLarge));
        let message = KubeletError::UnknownApiVersion("x".into()).to_string();
        assert!(
            message.contains("credentialprovider.kubelet.k8s.io/v1beta1"),
            "{message}"
        );
    }

    #[test]
    fn image_registry_follows_dockers_rule() {
        for (image, registry) in [
            ("quay.io/deepgram/self-hosted-api:release-260812", "quay.io"),
            ("Quay.IO/deepgram/x", "quay.io"),
            ("localhost:5000/x/y@sha256:abcd", "localhost:5000"),
            ("localhost/x", "localhost"),
            ("127.0.0.1:5000/x:1", "127.0.0.1:5000"),
            ("[::1]:5000/a", "[::1]:5000"),
            ("ubuntu", "docker.io"),
            ("library/ubuntu:22.04", "docker.io"),
            ("deepgram/self-hosted-api", "docker.io"),
        ] {
            assert_eq!(image_registry(image), registry, "{image}");
        }
    }

    #[test]
    fn provider_config_is_the_documented_yaml() {
        let yaml = render_provider_config(
            &["quay.io".to_string()],
            "docker-credential-deepgram",
            "12h",
            &[
                (
                    "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR".into(),
                    "/var/lib/docker-credential-deepgram".into(),
                ),
                ("DOCKER_CREDENTIAL_DEEPGRAM_STORE".into(), "file".into()),
            ],
        );
        assert_eq!(
            yaml,
            "apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: \"docker-credential-deepgram\"
    matchImages:
      - \"quay.io\"
    defaultCacheDuration: \"12h\"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args:
      - kubelet
    env:
      - name: \"DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR\"
        value: \"/var/lib/docker-credential-deepgram\"
      - name: \"DOCKER_CREDENTIAL_DEEPGRAM_STORE\"
        value: \"file\"
"
        );
    }
}
