//! Kubernetes pull secrets for the deepgram-self-hosted Helm chart (`global.pullSecretRef`),
//! pure: renders text, no I/O.
//!
//! A Secret of type `kubernetes.io/dockerconfigjson` whose `.dockerconfigjson` is
//! `{"auths":{"<registry>":{"username","password","auth"}}}` — what
//! `kubectl create secret docker-registry` makes — or just that JSON. The caller decides where
//! the text goes (never a terminal by default); nothing here logs it.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// The name Deepgram's samples use.
pub const DEFAULT_SECRET_NAME: &str = "dg-regcred";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A Kubernetes Secret manifest (YAML).
    Secret,
    /// Only the `.dockerconfigjson` content.
    DockerConfigJson,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("unknown format {0:?}: use secret or dockerconfigjson")]
    Format(String),
    #[error(
        "{0:?} is not a valid Kubernetes name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
    )]
    Name(String),
}

impl FromStr for ExportFormat {
    type Err = ExportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "secret" => Ok(ExportFormat::Secret),
            "dockerconfigjson" => Ok(ExportFormat::DockerConfigJson),
            other => Err(ExportError::Format(other.to_string())),
        }
    }
}

/// A DNS-1123 subdomain, as Kubernetes requires of Secret names and namespaces.
pub fn validate_name(name: &str) -> Result<(), ExportError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ExportError::Name(name.to_string()))
    }
}

/// `{"auths":{"<registry>":{"username","password","auth"}}}`, compact.
pub fn dockerconfigjson(registry: &str, username: &str, password: &str) -> String {
    let auth = STANDARD.encode(format!("{username}:{password}"));
    json!({"auths": {registry: {"username": username, "password": password, "auth": auth}}})
        .to_string()
}

/// The pull secret in the chosen format, newline-terminated.
pub fn render(
    format: ExportFormat,
    name: &str,
    namespace: Option<&str>,
    registry: &str,
    username: &str,
    password: &str,
) -> String {
    let config = dockerconfigjson(registry, username, password);
    match format {
        ExportFormat::DockerConfigJson => format!("{config}\n"),
        ExportFormat::Secret => {
            let mut yaml = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n");
            if let Some(namespace) = namespace {
                yaml.push_str(&format!("  namespace: {namespace}\n"));
            }
            yaml.push_str(&format!(
                "type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
                STANDARD.encode(config)
            ));
            yaml
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerconfigjson_matches_kubectl_create_secret() {
        assert_eq!(
            dockerconfigjson("quay.io", "deepgram+id", "pw"),
            r#"{"auths":{"quay.io":{"username":"deepgram+id","password":"pw","auth":"ZGVlcGdyYW0raWQ6cHc="}}}"#
        );
    }

    #[test]
    fn secret_manifest_is_exact_and_decodes_back() {
        let yaml = render(
            ExportFormat::Secret,
            "dg-regcred",
            Some("dg"),
            "quay.io",
            "u",
            "p",
        );
        let encoded = STANDARD.encode(dockerconfigjson("quay.io", "u", "p"));
        assert_eq!(
            yaml,
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dg-regcred\n  namespace: dg\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
            )
        );
        let decoded = STANDARD.decode(encoded).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(value["auths"]["quay.io"]["password"], "p");
        assert!(
            !render(ExportFormat::Secret, "n", None, "quay.io", "u", "p").contains("namespace")
        );
    }

    #[test]
    fn formats_and_names_are_validated() {
        assert_eq!("secret".parse(), Ok(ExportFormat::Secret));
        assert_eq!(
            "dockerconfigjson".parse(),
            Ok(ExportFormat::DockerConfigJson)
        );
        assert_eq!(
            "xml".parse::<ExportFormat>(),
            Err(ExportError::Format("xml".into()))
        );
        for good in ["dg-regcred", "a", "dg.regcred-2"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for bad in ["", "DG", "-a", "a-", "a_b", "a b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
