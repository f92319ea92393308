//! The blocking client for Deepgram's management API: projects and self-hosted distribution
//! credentials. Every HTTP status is mapped to a typed [`ApiError`] here, in one place.
//!
//! Sources disagree on shapes (shared/reference/deepgram-api.md), so the client sends what the
//! live API is reported to require — `comment`, `scopes` and `provider` in a JSON body — and
//! accepts both create responses: the flat object with `username`/`secret` and the wrapped
//! `{member, distribution_credentials}` one. It makes one attempt per call: whether a failure
//! may be retried is [`ApiError::server_did_not_act`]'s answer and the caller's decision.
//! Never logs the API key or a secret; the key is unwrapped only for the `Authorization` header.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::secret::Secret;

/// Response bodies are small JSON; anything bigger is not the API.
const MAX_BODY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    key: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub project_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreateRequest {
    pub comment: String,
    pub scopes: Vec<String>,
    pub provider: String,
}

/// A credential as create returns it: the only time the secret is ever available.
#[derive(Debug, Clone)]
pub struct CreatedCredential {
    pub id: String,
    pub username: String,
    pub secret: Secret,
    pub created: Option<String>,
    pub scopes: Vec<String>,
    pub comment: Option<String>,
}

/// What the API said about an error: `err_code`/`err_msg` (legacy), `category`/`message`/
/// `details` (modern), or plain text; plus `request_id` for Deepgram support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiDetail {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

impl std::fmt::Display for ApiDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(code) = &self.code {
            parts.push(code.clone());
        }
        if let Some(message) = &self.message {
            parts.push(message.clone());
        }
        if parts.is_empty() {
            parts.push("no detail".into());
        }
        write!(f, "{}", parts.join(": "))?;
        if let Some(id) = &self.request_id {
            write!(f, "; request_id {id}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "the Deepgram API rejected the API key (401, {detail}): set a valid key in DEEPGRAM_API_KEY or run `docker-credential-deepgram login`"
    )]
    InvalidKey { detail: ApiDetail },
    #[error(
        "the Deepgram API key lacks permission (403, {detail}): it needs the keys:write scope (or an owner/admin role) and every product scope requested ({scopes})"
    )]
    Forbidden { detail: ApiDetail, scopes: String },
    #[error(
        "Deepgram project {project} was not found (404, {detail}): check DEEPGRAM_PROJECT_ID or project_id, or unset it to discover the key's project"
    )]
    ProjectNotFound { project: String, detail: ApiDetail },
    #[error("the Deepgram API answered 404 for {url} ({detail}): check api_url")]
    NotFound { url: String, detail: ApiDetail },
    #[error("the Deepgram API rejected the request (400, {detail}): check scopes and comment")]
    BadRequest { detail: ApiDetail },
    #[error("the Deepgram API is rate limiting this key (429, {detail}): try again {}", retry_hint(*.retry_after))]
    RateLimited {
        detail: ApiDetail,
        retry_after: Option<Duration>,
    },
    #[error("the Deepgram API failed ({status}, {detail}): try again later")]
    Server {
        status: u16,
        detail: ApiDetail,
        retry_after: Option<Duration>,
    },
    #[error("the Deepgram API answered an unexpected status {status} ({detail})")]
    Unexpected { status: u16, detail: ApiDetail },
    #[error("cannot reach the Deepgram API at {url} ({reason}): check the network and api_url")]
    Unreachable { url: String, reason: String },
    #[error(
        "no complete answer from the Deepgram API at {url} within the timeout ({reason}): raise request_timeout if the network is slow"
    )]
    Timeout { url: String, reason: String },
    #[error("the Deepgram API at {url} sent an answer that is not the expected JSON ({reason})")]
    Malformed { url: String, reason: String },
    #[error(
        "the Deepgram API created credential {id} but returned no secret: delete it in the Console (Self-Hosted > Distribution Credentials) and report this"
    )]
    NoSecret { id: String },
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("in {}s", wait.as_secs().max(1)),
        None => "in a minute".to_string(),
    }
}

impl ApiError {
    /// True when the server provably did not act on the request, so that repeating a create
    /// cannot mint a second credential: the connection was refused (nothing was sent), or the
    /// server said 429 or 503 (it refused the work). Timeouts, resets, 500, 502 and 504 are
    /// ambiguous: the credential may exist.
    pub fn server_did_not_act(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } | ApiError::RateLimited { .. } => true,
            ApiError::Server { status, .. } => *status == 503,
            _ => false,
        }
    }

    /// The wait the server asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } | ApiError::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// True when the create may have happened on the server although we got no secret.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Timeout { .. } | ApiError::Malformed { .. } => true,
            ApiError::Server { status, .. } => *status != 503,
            _ => false,
        }
    }
}

impl Client {
    pub fn new(base_url: &str, key: Secret, timeouts: Timeouts) -> Client {
        let loopback = is_loopback_url(base_url);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.request))
            .max_redirects(0)
            .https_only(!loopback)
            // A proxy must never see loopback traffic, and the API key must not be sent to
            // one we did not choose for it.
            .proxy(if loopback {
                None
            } else {
                ureq::Proxy::try_from_env()
            })
            .user_agent(concat!(
                "docker-credential-deepgram/",
                env!("CARGO_PKG_VERSION")
            ))
            .build();
        Client {
            agent: config.into(),
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        }
    }

    /// `GET /v1/projects`: the projects this key can see.
    pub fn list_projects(&self) -> Result<Vec<Project>, ApiError> {
        let url = format!("{}/v1/projects", self.base_url);
        let body = self.send(&url, None, "")?;
        parse_projects(&body).ok_or_else(|| malformed(&url, "no `projects` array"))
    }

    /// `POST /v1/projects/{project}/self-hosted/distribution/credentials`, once.
    pub fn create_credential(
        &self,
        project_id: &str,
        request: &CreateRequest,
    ) -> Result<CreatedCredential, ApiError> {
        let url = format!(
            "{}/v1/projects/{}/self-hosted/distribution/credentials",
            self.base_url,
            encode_path_segment(project_id)
        );
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
        let authorization = format!("Token {}", self.key.expose());
        crate::debug!("{} {url}", if body.is_some() { "POST" } else { "GET" });
        let result = match body {
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
        let mut response = result.map_err(|err| transport_error(url, err))?;
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
            .map_err(|err| transport_error(url, err))?;
        crate::debug!("-> {status} ({} bytes)", text.len());
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|err| malformed(url, &err.to_string()));
        }
        let detail = parse_detail(&text);
        Err(match status {
            400 => ApiError::BadRequest { detail },
            401 => ApiError::InvalidKey { detail },
            403 => ApiError::Forbidden {
                detail,
                scopes: String::new(),
            },
            404 if !project_id.is_empty() && is_project_not_found(&detail) => {
                ApiError::ProjectNotFound {
                    project: project_id.to_string(),
                    detail,
                }
            }
            404 => ApiError::NotFound {
                url: url.to_string(),
                detail,
            },
            429 => ApiError::RateLimited {
                detail,
                retry_after,
            },
            500..=599 => ApiError::Server {
                status,
                detail,
                retry_after,
            },
            _ => ApiError::Unexpected { status, detail },
        })
    }
}

fn is_project_not_found(detail: &ApiDetail) -> bool {
    let code = detail.code.as_deref().unwrap_or("");
    let message = detail.message.as_deref().unwrap_or("");
    code.contains("PROJECT_NOT_FOUND")
        || message.contains("Project not found")
        || message.starts_with("UUID parsing failed")
}

fn malformed(url: &str, reason: &str) -> ApiError {
    ApiError::Malformed {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// Connection refused or a failed lookup means nothing reached the server; anything after
/// the request went out is a timeout or a lost answer, and ambiguous.
fn transport_error(url: &str, err: ureq::Error) -> ApiError {
    use std::io::ErrorKind;
    let reason = err.to_string();
    match &err {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            ApiError::Unreachable {
                url: url.to_string(),
                reason,
            }
        }
        ureq::Error::Timeout(_) => ApiError::Timeout {
            url: url.to_string(),
            reason,
        },
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => ApiError::Unreachable {
            url: url.to_string(),
            reason,
        },
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
            ) =>
        {
            ApiError::Unreachable {
                url: url.to_string(),
                reason,
            }
        }
        ureq::Error::Io(io) if io.kind() == ErrorKind::TimedOut => ApiError::Timeout {
            url: url.to_string(),
            reason,
        },
        // Reset, EOF before a response, TLS or protocol errors after sending: the server may
        // have acted.
        _ => ApiError::Timeout {
            url: url.to_string(),
            reason: format!("connection lost: {reason}"),
        },
    }
}

/// `Retry-After` in seconds (HTTP dates are rare for APIs; treated as absent).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The projects of a `GET /v1/projects` answer; entries without a string `project_id` are
/// skipped, a missing `name` is empty. `None` when there is no `projects` array.
pub fn parse_projects(body: &Value) -> Option<Vec<Project>> {
    let projects = body.get("projects")?.as_array()?;
    Some(
        projects
            .iter()
            .filter_map(|p| {
                Some(Project {
                    project_id: p.get("project_id")?.as_str()?.to_string(),
                    name: p
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                })
            })
            .collect(),
    )
}

/// Any of the three documented error bodies.
pub fn parse_detail(text: &str) -> ApiDetail {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        let text = text.trim();
        return ApiDetail {
            message: (!text.is_empty()).then(|| truncate(text, 200)),
            ..ApiDetail::default()
        };
    };
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| object.get(*name).and_then(Value::as_str))
            .map(|s| truncate(s, 300))
    };
    let message = match (field(&["err_msg", "message"]), field(&["details"])) {
        (Some(message), Some(details)) if message != details => {
            Some(format!("{message} {details}"))
        }
        (Some(message), _) => Some(message),
        (None, details) => details,
    };
    ApiDetail {
        code: field(&["err_code", "category"]),
        message,
        request_id: field(&["request_id"]),
    }
}

fn truncate(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Why a create response gave no usable credential.
#[derive(Debug)]
pub enum ParseCreated {
    /// The credential `id` exists on the server but the answer had no secret.
    NoSecret(String),
    /// Not a create response: what is missing.
    Shape(String),
}

/// Flat `{distribution_credentials_id, username, secret, ...}` or wrapped
/// `{member, distribution_credentials: {...}}`; `username` derived as `deepgram+<id>` when absent.
pub fn parse_created(value: &Value) -> Result<CreatedCredential, ParseCreated> {
    let inner = value
        .get("distribution_credentials")
        .filter(|v| v.is_object());
    let find = |name: &str| {
        value
            .get(name)
            .or_else(|| inner.and_then(|i| i.get(name)))
            .filter(|v| !v.is_null())
    };
    let text = |name: &str| find(name).and_then(Value::as_str).map(str::to_string);
    let id = text("distribution_credentials_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ParseCreated::Shape("no distribution_credentials_id".into()))?;
    let secret = match text("secret") {
        Some(secret) if !secret.is_empty() => Secret::new(secret),
        _ => return Err(ParseCreated::NoSecret(id)),
    };
    let username = text("username")
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("deepgram+{id}"));
    let scopes = find("scopes")
        .and_then(Value::as_array)
        .map(|scopes| {
            scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(CreatedCredential {
        id,
        username,
        secret,
        created: text("created"),
        scopes,
        comment: text("comment"),
    })
}

fn encode_path_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn is_loopback_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .unwrap_or(&lower);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
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
    fn retry_policy_only_repeats_what_the_server_refused() {
        let detail = ApiDetail::default();
        let refused = ApiError::Unreachable {
            url: "u".into(),
            reason: "refused".into(),
        };
        let limited = ApiError::RateLimited {
            detail: detail.clone(),
            retry_after: Some(Duration::from_secs(2)),
        };
        let unavailable = ApiError::Server {
            status: 503,
            detail: detail.clone(),
            retry_after: None,
        };
        let bad_gateway = ApiError::Server {
            status: 502,
            detail: detail.clone(),
            retry_after: None,
        };
        let timeout = ApiError::Timeout {
            url: "u".into(),
            reason: "t".into(),
        };
        assert!(refused.server_did_not_act() && !refused.is_ambiguous());
        assert!(limited.server_did_not_act());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert!(unavailable.server_did_not_act() && !unavailable.is_ambiguous());
        assert!(!bad_gateway.server_did_not_act() && bad_gateway.is_ambiguous());
        assert!(!timeout.server_did_not_act() && timeout.is_ambiguous());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_path_segment("abc-123"), "abc-123");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
    }
}
