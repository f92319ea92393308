//! The blocking client for Deepgram's management API: projects and self-hosted distribution
//! credentials. Every HTTP status is mapped to a typed [`ApiError`] in `error` (with what a
//! failed create means); the JSON shapes are read in `wire`; this file sends the requests.
//!
//! Sources disagree on shapes (shared/reference/deepgram-api.md), so the client sends what the
//! live API is reported to require — `comment`, `scopes` and `provider` in a JSON body — and
//! accepts both create responses: the flat object with `username`/`secret` and the wrapped
//! `{member, distribution_credentials}` one. It makes one attempt per call: what a failed
//! create means ([`ApiError::outcome`]) is decided in `error`, whether to retry is the
//! caller's call.
//! Text from the server (error details, project names, comments) is made terminal-safe
//! (`crate::sanitize`) before it reaches any message.
//! Never logs the API key or a secret; the key is unwrapped only for the `Authorization` header.

use std::time::Duration;

use serde_json::Value;

use crate::config::ApiPath;
use crate::endpoint::ApiUrl;
pub use crate::http::Timeouts;
use crate::secret::Secret;

mod error;
mod wire;

pub use error::*;
pub use wire::*;

/// Response bodies are small JSON; anything bigger is not the API.
const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// A `Retry-After` beyond this is treated as this (it only has to be longer than any budget).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

pub struct Client {
    agent: ureq::Agent,
    connect: crate::http::ConnectNote,
    base: ApiUrl,
    key: Secret,
    path: ApiPath,
}

impl Client {
    /// A client for `base` with the shared agent rules (`crate::http`): TLS trust, proxy,
    /// timeouts, no redirects. Fails only on an unusable proxy variable.
    pub fn new(base: &ApiUrl, key: Secret, timeouts: Timeouts) -> Result<Client, ApiError> {
        let (agent, connect) = crate::http::agent_noting_connect(base, timeouts)?;
        Ok(Client {
            agent,
            connect,
            base: base.clone(),
            key,
            path: ApiPath::SelfHosted,
        })
    }

    /// Sends the distribution-credential operations under `path` (config `api_path`).
    pub fn with_api_path(mut self, path: ApiPath) -> Client {
        self.path = path;
        self
    }

    /// `/v1/projects/{project}/{self-hosted|onprem}/distribution/credentials[/{id}]`.
    fn credentials_url(&self, project_id: &str, id: Option<&str>) -> String {
        let mut path = format!(
            "/v1/projects/{}/{}/distribution/credentials",
            encode_path_segment(project_id),
            self.path.as_str()
        );
        if let Some(id) = id {
            path.push('/');
            path.push_str(&encode_path_segment(id));
        }
        self.base.join(&path)
    }

    /// `GET /v1/projects`: the projects this key can see.
    pub fn list_projects(&self) -> Result<Vec<Project>, ApiError> {
        let url = self.base.join("/v1/projects");
        let body = self.send(&url, None, "")?;
        parse_projects(&body).ok_or_else(|| malformed(&url, "no `projects` array"))
    }

    /// `POST /v1/projects/{project}/self-hosted/distribution/credentials` (or `onprem`), once.
    pub fn create_credential(
        &self,
        project_id: &str,
        request: &CreateRequest,
    ) -> Result<CreatedCredential, ApiError> {
        let url = self.credentials_url(project_id, None);
        let body = serde_json::to_string(request).expect("request serialises");
        let scopes = request.scopes.join(", ");
        let value = self
            .send(&url, Some(&body), project_id)
            .map_err(|err| match err {
                ApiError::Forbidden { detail, .. } => ApiError::Forbidden { detail, scopes },
                other => other,
            })?;
        parse_created(&value).map_err(|reason| match reason {
            ParseCreated::NoSecret(id) => ApiError::NoSecret { id },
            ParseCreated::Shape(reason) => malformed(&url, &reason),
        })
    }

    /// One request; the status mapped to a typed error, the body parsed as JSON.
    fn send(&self, url: &str, body: Option<&str>, project_id: &str) -> Result<Value, ApiError> {
        self.send_as(Method::Auto, url, body, project_id)
    }

    fn send_as(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
        project_id: &str,
    ) -> Result<Value, ApiError> {
        let authorization = format!("Token {}", self.key.expose());
        let delete = method == Method::Delete;
        crate::debug!(
            "{} {url}",
            if delete {
                "DELETE"
            } else if body.is_some() {
                "POST"
            } else {
                "GET"
            }
        );
        self.connect.clear();
        let result = match body {
            _ if delete => self
                .agent
                .delete(url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .call(),
            Some(body) => self
                .agent
                .post(url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .content_type("application/json")
                .send(body),
            None => self
                .agent
                .get(url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .call(),
        };
        let mut response = result.map_err(|err| {
            let err = transport_error(url, self.base.host(), err);
            match err {
                // Lost while connecting (a proxy that reset the CONNECT, a handshake cut
                // short): nothing of the request was sent, so nothing can have been created.
                ApiError::NoAnswer { url, reason } if self.connect.failed_while_connecting() => {
                    ApiError::Unreachable { url, reason }
                }
                other => other,
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(|err| transport_error(url, self.base.host(), err))?;
        crate::debug!("-> {status} ({} bytes)", text.len());
        if (200..300).contains(&status) {
            if delete {
                // Sources disagree on the body of a delete (deepgram-api.md §1.6): any 2xx is
                // success, whatever it says.
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|err| malformed(url, &err.to_string()));
        }
        Err(from_status(
            status,
            parse_detail(&text),
            url,
            project_id,
            retry_after,
        ))
    }

    // Lifecycle operations: kept together at the end of the impl.

    /// `GET …/distribution/credentials`: every credential the key may see in the project (a
    /// key without `members:read` sees only its own: deepgram-api.md §1.1).
    pub fn list_credentials(&self, project_id: &str) -> Result<Vec<CredentialInfo>, ApiError> {
        let url = self.credentials_url(project_id, None);
        let body = self.send(&url, None, project_id)?;
        let entries = match body.get("distribution_credentials") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(malformed(&url, "`distribution_credentials` is not a list")),
        };
        Ok(entries.iter().filter_map(parse_info).collect())
    }

    /// `GET …/distribution/credentials/{id}`: `Ok(None)` only when the API itself says the
    /// credential does not exist (a 404 in its own error shape that is not about the
    /// project); a 404 from something else in front of it proves nothing and is an error.
    pub fn get_credential(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<Option<CredentialInfo>, ApiError> {
        let url = self.credentials_url(project_id, Some(id));
        match self.send(&url, None, project_id) {
            Ok(body) => parse_info(&body)
                .map(Some)
                .ok_or_else(|| malformed(&url, "no distribution_credentials_id")),
            Err(ApiError::NotFound { detail, .. }) if detail.from_api => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `DELETE …/distribution/credentials/{id}`: `Ok(false)` when the API says it was already
    /// gone (as for [`Client::get_credential`]).
    pub fn delete_credential(&self, project_id: &str, id: &str) -> Result<bool, ApiError> {
        let url = self.credentials_url(project_id, Some(id));
        match self.send_as(Method::Delete, &url, None, project_id) {
            Ok(_) => Ok(true),
            Err(ApiError::NotFound { detail, .. }) if detail.from_api => Ok(false),
            Err(err) => Err(err),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// GET without a body, POST with one.
    Auto,
    Delete,
}

/// `Retry-After` in seconds, at most [`MAX_RETRY_AFTER`] (HTTP dates are rare for APIs;
/// treated as absent).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: a parse failure can only be an overflow.
    let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

fn encode_path_segment(segment: &str) -> String {
    crate::endpoint::encode_component(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_create_response_is_parsed() {
        let value = serde_json::json!({
            "distribution_credentials_id": "8b36cfd0-472f-4a21-833f-2d6343c3a2f3",
            "provider": "quay",
            "username": "deepgram+8b36cfd0",
            "secret": "s3cr3t",
            "comment": "c",
            "scopes": ["self-hosted:product:api", "onprem:product:api"],
            "created": "2023-06-28T15:36:59.609841Z"
        });
        let Ok(created) = parse_created(&value) else {
            panic!("flat shape rejected")
        };
        assert_eq!(created.id, "8b36cfd0-472f-4a21-833f-2d6343c3a2f3");
        assert_eq!(created.username, "deepgram+8b36cfd0");
        assert_eq!(created.secret.expose(), "s3cr3t");
        assert_eq!(created.scopes.len(), 2);
        assert_eq!(
            created.created.as_deref(),
            Some("2023-06-28T15:36:59.609841Z")
        );
    }

    #[test]
    fn wrapped_create_response_derives_the_username() {
        let value = serde_json::json!({
            "member": {"member_id": "m", "email": "e@example.com"},
            "distribution_credentials": {
                "distribution_credentials_id": "82c32c10",
                "provider": "quay",
                "secret": "abc",
                "scopes": ["self-hosted:product:api"],
                "created": "2023-06-28T15:36:59Z"
            }
        });
        let Ok(created) = parse_created(&value) else {
            panic!("wrapped shape rejected")
        };
        assert_eq!(created.username, "deepgram+82c32c10");
        assert_eq!(created.secret.expose(), "abc");
    }

    #[test]
    fn create_response_without_secret_is_its_own_error() {
        let value = serde_json::json!({"member": {}, "distribution_credentials": {"distribution_credentials_id": "x"}});
        assert!(matches!(parse_created(&value), Err(ParseCreated::NoSecret(id)) if id == "x"));
        assert!(matches!(
            parse_created(&serde_json::json!({})),
            Err(ParseCreated::Shape(_))
        ));
    }

    #[test]
    fn all_three_error_shapes_are_read() {
        let legacy = parse_detail(
            r#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"r1"}"#,
        );
        assert_eq!(
            legacy.to_string(),
            "INVALID_AUTH: Invalid credentials.; request_id r1"
        );
        let modern = parse_detail(
            r#"{"category":"INVALID_JSON","message":"Invalid JSON submitted.","details":"missing field `provider`","request_id":"r2"}"#,
        );
        assert_eq!(
            modern.to_string(),
            "INVALID_JSON: Invalid JSON submitted. missing field `provider`; request_id r2"
        );
        let text = parse_detail("UUID parsing failed: invalid character\n");
        assert_eq!(text.to_string(), "UUID parsing failed: invalid character");
        assert_eq!(parse_detail("").to_string(), "no detail");
    }

    #[test]
    fn a_failed_create_is_classified_once() {
        use CreateFailure::*;
        let server = |status: u16, body: &str, retry_after: Option<u64>| ApiError::Server {
            status,
            detail: parse_detail(body),
            retry_after: retry_after.map(Duration::from_secs),
        };
        let refused = ApiError::Unreachable {
            url: "u".into(),
            reason: "refused".into(),
        };
        let limited = ApiError::RateLimited {
            detail: ApiDetail::default(),
            retry_after: Some(Duration::from_secs(2)),
        };
        let no_answer = ApiError::NoAnswer {
            url: "u".into(),
            reason: "t".into(),
        };
        let certificate = ApiError::Certificate {
            host: "h".into(),
            reason: "unknown issuer".into(),
        };
        assert_eq!(refused.outcome(), DidNotAct);
        assert_eq!(limited.outcome(), DidNotAct);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        let api_503 = r#"{"err_code":"SERVICE_UNAVAILABLE","err_msg":"try later"}"#;
        assert_eq!(server(503, api_503, None).outcome(), DidNotAct);
        let modern_503 = r#"{"category":"UNAVAILABLE","message":"try later"}"#;
        assert_eq!(server(503, modern_503, None).outcome(), DidNotAct);
        assert_eq!(server(503, "upstream down", Some(1)).outcome(), DidNotAct);
        // A gateway's 503 may come after it forwarded the create.
        assert_eq!(server(503, "upstream down", None).outcome(), Ambiguous);
        assert_eq!(server(503, r#"{"error":"x"}"#, None).outcome(), Ambiguous);
        assert_eq!(server(502, api_503, None).outcome(), Ambiguous);
        assert_eq!(no_answer.outcome(), Ambiguous);
        assert_eq!(certificate.outcome(), Definite);
        assert_eq!(
            ApiError::InvalidKey {
                detail: ApiDetail::default()
            }
            .outcome(),
            Definite
        );
    }

    #[test]
    fn no_answer_says_what_it_covers() {
        let err = ApiError::NoAnswer {
            url: "https://api.example/v1".into(),
            reason: "connection reset".into(),
        };
        assert!(
            err.to_string()
                .starts_with("no complete answer from the Deepgram API at https://api.example/v1 (timed out or connection lost: connection reset)"),
            "{err}"
        );
    }

    #[test]
    fn retry_after_is_capped_and_never_overflows() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn server_text_is_made_terminal_safe() {
        let detail = parse_detail(
            "{\"err_code\":\"E\\u001b[2J\",\"err_msg\":\"bad\\u001b]0;title\\u0007 \\u202eevil\",\"request_id\":\"r\\u0007\"}",
        );
        assert_eq!(detail.to_string(), "E: bad evil; request_id r");
        assert!(detail.from_api);
        let plain = parse_detail("\u{1b}[31mred\u{1b}[0m text\u{9b}2J");
        assert_eq!(plain.to_string(), "red text");
        assert!(!plain.from_api);
        let created = parse_created(&serde_json::json!({
            "distribution_credentials_id": "id\u{1b}[1m",
            "secret": "s",
            "comment": "c\u{202e}x",
            "scopes": ["a\u{7}"],
        }));
        let Ok(created) = created else {
            panic!("rejected")
        };
        assert_eq!(
            (
                created.id.as_str(),
                created.comment.as_deref(),
                created.scopes[0].as_str()
            ),
            ("id", Some("cx"), "a")
        );
    }

    #[test]
    fn list_and_get_entries_are_read_in_both_shapes_without_a_secret() {
        let wrapped = serde_json::json!({
            "member": {"member_id": "m", "email": "e@example.com"},
            "distribution_credentials": {
                "distribution_credentials_id": "8b36cfd0",
                "provider": "quay",
                "comment": "c [dcd:0123:ab]\u{1b}[2J",
                "scopes": ["self-hosted:product:api"],
                "created": "2023-06-28T15:36:59Z",
                "secret": "never kept"
            }
        });
        let info = parse_info(&wrapped).unwrap();
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({
                "id": "8b36cfd0",
                "username": "deepgram+8b36cfd0",
                "comment": "c [dcd:0123:ab]",
                "created": "2023-06-28T15:36:59Z",
                "scopes": ["self-hosted:product:api"],
            })
        );
        let flat = serde_json::json!({"distribution_credentials_id": "x", "username": "robot+x"});
        let info = parse_info(&flat).unwrap();
        assert_eq!((info.username.as_str(), info.comment), ("robot+x", None));
        assert_eq!(parse_info(&serde_json::json!({"member": {}})), None);
    }

    #[test]
    fn the_legacy_path_is_used_for_every_operation() {
        let base = ApiUrl::parse("https://api.example").unwrap();
        let client = Client::new(
            &base,
            Secret::new("k"),
            Timeouts {
                connect: Duration::from_secs(1),
                request: Duration::from_secs(1),
            },
        )
        .unwrap();
        assert_eq!(
            client.credentials_url("p", Some("a/b")),
            "https://api.example/v1/projects/p/self-hosted/distribution/credentials/a%2Fb"
        );
        let client = client.with_api_path(ApiPath::Onprem);
        assert_eq!(
            client.credentials_url("p", None),
            "https://api.example/v1/projects/p/onprem/distribution/credentials"
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_path_segment("abc-123"), "abc-123");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
    }
}
