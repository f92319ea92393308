//! The Deepgram API's failures, typed: every HTTP status and transport failure mapped to an
//! [`ApiError`] in one place, and what a failed create means for the credential it asked for
//! ([`CreateFailure`]). Server text in a message is made terminal-safe first. Never holds the
//! API key or a secret.

use std::time::Duration;

use crate::http::TlsFailure;
use crate::sanitize::terminal_safe;

/// What the API said about an error: `err_code`/`err_msg` (legacy), `category`/`message`/
/// `details` (modern), or plain text; plus `request_id` for Deepgram support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiDetail {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// The body was one of the API's own JSON error shapes (`err_code`/`err_msg` or
    /// `category`/`message`), so the answer came from Deepgram, not a gateway in front of it.
    pub from_api: bool,
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
        "no complete answer from the Deepgram API at {url} (timed out or connection lost: {reason}): raise request_timeout if the network is slow"
    )]
    NoAnswer { url: String, reason: String },
    #[error(
        "cannot verify the TLS certificate of {host} ({reason}); nothing was sent: if your network uses its own CA, set SSL_CERT_FILE=/path/to/ca-bundle.pem or install the CA in the system store (/usr/local/share/ca-certificates, then update-ca-certificates)"
    )]
    Certificate { host: String, reason: String },
    #[error(
        "the TLS handshake with {host} failed ({reason}); nothing was sent: check api_url and any proxy in between; if your network uses its own CA, set SSL_CERT_FILE=/path/to/ca-bundle.pem"
    )]
    Tls { host: String, reason: String },
    #[error(transparent)]
    Proxy(#[from] crate::http::ProxyError),
    #[error("the Deepgram API at {url} sent an answer that is not the expected JSON ({reason})")]
    Malformed { url: String, reason: String },
    #[error(
        "the Deepgram API created credential {id} but returned no secret: delete it in the Console (Self-Hosted > Distribution Credentials) and report this"
    )]
    NoSecret { id: String },
    #[error(
        "the Deepgram API created credential {id} with a username that holds control characters ({shown}); it is not stored: report this to Deepgram"
    )]
    UnsafeUsername { id: String, shown: String },
}

pub(super) fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("in {}s", wait.as_secs().max(1)),
        None => "in a minute".to_string(),
    }
}

/// What a failed create means for the credential it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateFailure {
    /// Provably nothing was created, and asking again may succeed: nothing reached the server
    /// (refused, unresolvable, connect timeout), or the API itself refused the work (429, or a
    /// 503 in the API's own error shape or with `Retry-After`).
    DidNotAct,
    /// The credential may exist: no complete answer, an answer we cannot read, or a 5xx that a
    /// gateway may have sent after forwarding the request.
    Ambiguous,
    /// Nothing was created and asking again would fail the same way (bad key, no permission,
    /// a refused certificate: nothing was sent).
    Definite,
}

impl ApiError {
    /// The one classification of a failed create (see [`CreateFailure`]).
    pub fn outcome(&self) -> CreateFailure {
        match self {
            ApiError::Unreachable { .. } | ApiError::RateLimited { .. } => CreateFailure::DidNotAct,
            ApiError::Server {
                status: 503,
                detail,
                retry_after,
            } if detail.from_api || retry_after.is_some() => CreateFailure::DidNotAct,
            ApiError::Server { .. } | ApiError::NoAnswer { .. } | ApiError::Malformed { .. } => {
                CreateFailure::Ambiguous
            }
            ApiError::InvalidKey { .. }
            | ApiError::Forbidden { .. }
            | ApiError::ProjectNotFound { .. }
            | ApiError::NotFound { .. }
            | ApiError::BadRequest { .. }
            | ApiError::Unexpected { .. }
            | ApiError::Certificate { .. }
            | ApiError::Tls { .. }
            | ApiError::Proxy(_)
            | ApiError::NoSecret { .. }
            | ApiError::UnsafeUsername { .. } => CreateFailure::Definite,
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
}

pub(super) fn is_project_not_found(detail: &ApiDetail) -> bool {
    let code = detail.code.as_deref().unwrap_or("");
    let message = detail.message.as_deref().unwrap_or("");
    code.contains("PROJECT_NOT_FOUND")
        || message.contains("Project not found")
        || message.starts_with("UUID parsing failed")
}

pub(super) fn malformed(url: &str, reason: &str) -> ApiError {
    ApiError::Malformed {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// Connection refused, a failed lookup, or a TLS handshake that failed means nothing reached
/// the server; anything after the request went out is a timeout or a lost answer, and
/// ambiguous.
pub(super) fn transport_error(url: &str, host: &str, err: ureq::Error) -> ApiError {
    use std::io::ErrorKind;
    match crate::http::tls_failure(&err) {
        Some(TlsFailure::Certificate(reason)) => {
            return ApiError::Certificate {
                host: host.to_string(),
                reason,
            };
        }
        Some(TlsFailure::Handshake(reason)) => {
            return ApiError::Tls {
                host: host.to_string(),
                reason,
            };
        }
        None => {}
    }
    let reason = terminal_safe(&err.to_string());
    match &err {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            ApiError::Unreachable {
                url: url.to_string(),
                reason,
            }
        }
        ureq::Error::Timeout(_) => ApiError::NoAnswer {
            url: url.to_string(),
            reason,
        },
        // A proxy that refused the tunnel never passed anything on.
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::ConnectProxyFailed(_) => ApiError::Unreachable {
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
        ureq::Error::Io(io) if io.kind() == ErrorKind::TimedOut => ApiError::NoAnswer {
            url: url.to_string(),
            reason,
        },
        // Reset, EOF before a response, TLS or protocol errors after sending: the server may
        // have acted.
        _ => ApiError::NoAnswer {
            url: url.to_string(),
            reason,
        },
    }
}

/// The error for an answer with a status outside 2xx: one place for every status.
pub(super) fn from_status(
    status: u16,
    detail: ApiDetail,
    url: &str,
    project_id: &str,
    retry_after: Option<Duration>,
) -> ApiError {
    match status {
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
    }
}
