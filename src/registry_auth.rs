//! The registry's own auth handshake, to prove a stored credential is still accepted: `GET /v2/`
//! without credentials, then by its `WWW-Authenticate` challenge either Basic (retry `/v2/` with
//! the credential) or Bearer (the token endpoint from `realm`/`service`, with Basic auth, for a
//! pull scope). Quay's 401 messages tell a deleted robot from a wrong secret
//! (shared/reference/lifecycle.md §4.2).
//!
//! The HTTP rules are the API client's, from the same places: the one URL rule of
//! [`crate::endpoint`] (https, or plain http only to a loopback host: the tests' registries) and
//! the one agent builder of [`crate::http`] (TLS trust with `SSL_CERT_FILE`, proxies and
//! `NO_PROXY`, timeouts, no redirects). A credential is sent only to the registry itself and to
//! a token realm that obeys the same rule. Never logs or returns the secret or the token.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::deepgram::Timeouts;
use crate::endpoint::{ApiUrl, encode_component};
use crate::secret::Secret;

const MAX_BODY_BYTES: u64 = 256 * 1024;

/// What the registry said about the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted, through `scheme` (`Basic` or `Bearer`).
    Accepted { scheme: &'static str },
    /// `/v2/` answered 200 without credentials: the registry asks for none.
    Open,
    /// The token was issued but grants no pull on the repository (quay down-scopes).
    NotEntitled { repository: String },
    /// Quay: "Could not find robot with username: ... and supplied password."
    WrongSecret { message: String },
    /// Quay: "Could not find robot with specified username".
    RobotDeleted { message: String },
    /// Refused for another reason (a plain 401 from a Basic registry, a disabled robot...).
    Rejected { message: String },
    /// No answer that says anything about the credential (network, 5xx, odd challenge).
    Unknown { reason: String },
}

/// Runs the handshake for `registry` (a canonical host, maybe with a path) with the
/// credential, asking for pull on `repository` when the registry uses tokens.
pub fn check(
    registry: &str,
    username: &str,
    secret: &Secret,
    repository: &str,
    timeouts: Timeouts,
) -> Verdict {
    let host = registry.split('/').next().unwrap_or(registry);
    let scheme = match ApiUrl::parse(&format!("https://{host}")) {
        Ok(url) if url.is_loopback() => "http",
        Ok(_) => "https",
        Err(err) => {
            return Verdict::Unknown {
                reason: err.to_string(),
            };
        }
    };
    let ping = format!("{scheme}://{host}/v2/");
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{}", secret.expose()))
    );
    let answer = match request(&ping, None, timeouts) {
        Ok(answer) => answer,
        Err(reason) => return Verdict::Unknown { reason },
    };
    match answer.status {
        200 => return Verdict::Open,
        401 => {}
        status => {
            return Verdict::Unknown {
                reason: format!("GET {ping} answered {status}, not 401 with a challenge"),
            };
        }
    }
    let Some(challenge) = answer.challenge.as_deref().map(parse_challenge) else {
        return Verdict::Unknown {
            reason: format!("GET {ping} answered 401 without a WWW-Authenticate challenge"),
        };
    };
    match challenge.scheme.as_str() {
        "basic" => match request(&ping, Some(&basic), timeouts) {
            Ok(answer) if answer.status == 200 => Verdict::Accepted { scheme: "Basic" },
            Ok(answer) if answer.status == 401 || answer.status == 403 => Verdict::Rejected {
                message: format!(
                    "{ping} answered {} to the credential{}",
                    answer.status,
                    error_message(&answer.body)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            },
            Ok(answer) => Verdict::Unknown {
                reason: format!("GET {ping} with the credential answered {}", answer.status),
            },
            Err(reason) => Verdict::Unknown { reason },
        },
        "bearer" => bearer(&challenge, &basic, repository, timeouts),
        other => Verdict::Unknown {
            reason: format!("{ping} asks for the unknown auth scheme {other:?}"),
        },
    }
}

fn bearer(challenge: &Challenge, basic: &str, repository: &str, timeouts: Timeouts) -> Verdict {
    let Some(realm) = challenge.param("realm") else {
        return Verdict::Unknown {
            reason: "the Bearer challenge names no realm".into(),
        };
    };
    if origin(realm).is_err() {
        return Verdict::Unknown {
            reason: format!(
                "the token realm {realm} is not https: the credential was not sent to it"
            ),
        };
    }
    let mut url = realm.to_string();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    if let Some(service) = challenge.param("service") {
        url.push_str(&format!("{separator}service={}", encode_component(service)));
        separator = '&';
    }
    url.push_str(&format!(
        "{separator}scope={}",
        encode_component(&format!("repository:{repository}:pull"))
    ));
    let answer = match request(&url, Some(basic), timeouts) {
        Ok(answer) => answer,
        Err(reason) => return Verdict::Unknown { reason },
    };
    match answer.status {
        200 => {
            let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            let token = body
                .get("token")
                .or_else(|| body.get("access_token"))
                .and_then(Value::as_str);
            match token {
                Some(token) if grants_pull(token, repository) == Some(false) => {
                    Verdict::NotEntitled {
                        repository: repository.to_string(),
                    }
                }
                Some(_) => Verdict::Accepted { scheme: "Bearer" },
                None => Verdict::Unknown {
                    reason: format!("the token endpoint {realm} answered 200 without a token"),
                },
            }
        }
        401 | 403 => {
            let message = error_message(&answer.body).unwrap_or_default();
            if message.contains("supplied password") {
                Verdict::WrongSecret { message }
            } else if message.contains("specified username") {
                Verdict::RobotDeleted { message }
            } else {
                Verdict::Rejected {
                    message: format!(
                        "the token endpoint {realm} answered {}{}",
                        answer.status,
                        if message.is_empty() {
                            String::new()
                        } else {
                            format!(": {message}")
                        }
                    ),
                }
            }
        }
        status => Verdict::Unknown {
            reason: format!("the token endpoint {realm} answered {status}"),
        },
    }
}

/// `Some(false)` when the token is a JWT whose `access` names the repository without `pull`
/// (quay issues such a token to a robot that may not pull it); `None` when it cannot tell.
fn grants_pull(token: &str, repository: &str) -> Option<bool> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let access = claims.get("access")?.as_array()?;
    let entry = access
        .iter()
        .find(|a| a.get("name").and_then(Value::as_str) == Some(repository))?;
    let actions = entry.get("actions")?.as_array()?;
    Some(actions.iter().any(|a| a.as_str() == Some("pull")))
}

/// The message of a registry error body `{"errors":[{"code","message"}]}`, or a short text.
fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let first = value.get("errors")?.as_array()?.first()?;
    let text = first
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| first.get("code").and_then(Value::as_str))?;
    // Made safe for a terminal: a registry's text reaches doctor's output.
    Some(
        crate::sanitize::terminal_safe(text)
            .chars()
            .take(300)
            .collect(),
    )
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    body: String,
}

fn request(url: &str, authorization: Option<&str>, timeouts: Timeouts) -> Result<Answer, String> {
    let agent = crate::http::agent(&origin(url)?, timeouts).map_err(|err| err.to_string())?;
    let mut call = agent.get(url);
    if let Some(value) = authorization {
        call = call.header("Authorization", value);
    }
    crate::debug!("GET {url}");
    let mut response = call
        .call()
        .map_err(|err| format!("cannot reach {url}: {err}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .unwrap_or_default();
    Ok(Answer {
        status,
        challenge,
        body,
    })
}

/// The origin of `url` under the one URL rule: https, or plain http only to a loopback host.
/// The agent is built for it, so TLS trust and proxies are the API client's.
fn origin(url: &str) -> Result<ApiUrl, String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("{url} is not a URL ({err})"))?;
    ApiUrl::parse(&parsed.origin().ascii_serialization()).map_err(|err| err.to_string())
}

#[derive(Debug)]
struct Challenge {
    /// Lowercased.
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `Bearer realm="https://quay.io/v2/auth",service="quay.io"` → scheme and parameters.
fn parse_challenge(header: &str) -> Challenge {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((name.trim().to_string(), value.trim().to_string()));
    }
    Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed_like_quays_and_distributions() {
        let c = parse_challenge(r#"Bearer realm="https://quay.io/v2/auth",service="quay.io""#);
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://quay.io/v2/auth"));
        assert_eq!(c.param("service"), Some("quay.io"));
        let c = parse_challenge(r#"Basic realm="test-realm""#);
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some("test-realm"));
        let c = parse_challenge("Bearer realm=x, scope=\"a,b\"");
        assert_eq!(c.param("realm"), Some("x"));
        assert_eq!(c.param("scope"), Some("a,b"));
    }

    #[test]
    fn a_credential_goes_only_to_https_or_a_loopback_origin() {
        assert_eq!(
            origin("http://127.0.0.1:5000/v2/auth?x=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000"
        );
        assert!(origin("http://localhost/token").is_ok());
        assert!(origin("http://[::1]:80/").is_ok());
        assert!(origin("https://quay.io/v2/auth").is_ok());
        assert!(origin("http://quay.io/v2/auth").is_err());
        assert!(origin("http://127.0.0.1.evil.example/").is_err());
        assert!(origin("ftp://quay.io/").is_err());
    }

    #[test]
    fn a_down_scoped_token_grants_no_pull() {
        let claims = serde_json::json!({"access": [{"type": "repository", "name": "deepgram/x", "actions": []}]});
        let token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_eq!(grants_pull(&token, "deepgram/x"), Some(false));
        let claims = serde_json::json!({"access": [{"type": "repository", "name": "deepgram/x", "actions": ["pull"]}]});
        let token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_eq!(grants_pull(&token, "deepgram/x"), Some(true));
        assert_eq!(grants_pull("opaque", "deepgram/x"), None);
    }

    #[test]
    fn registry_error_messages_are_read() {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"Could not find robot with specified username","detail":{}}]}"#;
        assert_eq!(
            error_message(body).as_deref(),
            Some("Could not find robot with specified username")
        );
        assert_eq!(error_message("<html>"), None);
        let hostile = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad\u001b]0;owned\u0007 robot\u001b[2J"}]}"#;
        assert_eq!(error_message(hostile).as_deref(), Some("bad robot"));
    }
}
