//! The registry's own auth handshake, to prove a stored credential is still accepted: `GET /v2/`
//! without credentials, then by its `WWW-Authenticate` challenge either Basic (retry `/v2/` with
//! the credential) or Bearer (the token endpoint from `realm`/`service`, with Basic auth, for a
//! pull scope). Quay's 401 messages tell a deleted robot from a wrong secret
//! (shared/reference/lifecycle.md §4.2).
//!
//! The HTTP rules are `deepgram::Client`'s: connect and whole-request timeouts, no redirects,
//! https only except to loopback hosts (plain http is used for those: the tests' registries),
//! the proxy from the environment except for loopback. A credential is sent only to the
//! registry itself and to a token realm that obeys the same rule. Never logs or returns the
//! secret or the token.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::deepgram::Timeouts;
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
    let scheme = if is_loopback_host(host) {
        "http"
    } else {
        "https"
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
    let realm_lower = realm.to_ascii_lowercase();
    let allowed = realm_lower.starts_with("https://")
        || realm_lower
            .strip_prefix("http://")
            .is_some_and(|rest| is_loopback_host(rest.split(['/', '?']).next().unwrap_or("")));
    if !allowed {
        return Verdict::Unknown {
            reason: format!(
                "the token realm {realm} is not https: the credential was not sent to it"
            ),
        };
    }
    let mut url = realm.to_string();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    if let Some(service) = challenge.param("service") {
        url.push_str(&format!("{separator}service={}", encode(service)));
        separator = '&';
    }
    url.push_str(&format!(
        "{separator}scope={}",
        encode(&format!("repository:{repository}:pull"))
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
    Some(text.replace(['\n', '\r'], " ").chars().take(300).collect())
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    body: String,
}

fn request(url: &str, authorization: Option<&str>, timeouts: Timeouts) -> Result<Answer, String> {
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(""))
        .unwrap_or("");
    let agent = agent(is_loopback_host(host), timeouts);
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

/// The same rules as `deepgram::Client::new`.
fn agent(loopback: bool, timeouts: Timeouts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(timeouts.connect))
        .timeout_global(Some(timeouts.request))
        .max_redirects(0)
        .https_only(!loopback)
        .proxy(if loopback {
            None
        } else {
            ureq::Proxy::try_from_env()
        })
        .user_agent(concat!(
            "docker-credential-deepgram/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .into()
}

/// `localhost`, `127.x.y.z`, `::1`, with or without a port.
pub fn is_loopback_host(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        authority
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(authority, |(host, _)| host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback_host("127.0.0.1:5000"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]:80"));
        assert!(!is_loopback_host("quay.io"));
        assert!(!is_loopback_host("127.0.0.1.evil.example"));
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
    }
}
