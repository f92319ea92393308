//! The one URL rule for every server we send a secret to: parsed once, with a real (WHATWG)
//! parser, into an [`ApiUrl`] that config stores and every HTTP client takes.
//!
//! `https://` anywhere; plain `http://` only when the host is loopback — an IP address for
//! which [`std::net::IpAddr::is_loopback`] holds, or exactly `localhost` — so a key never
//! crosses a network in clear text. No userinfo (`user@host` hides the real host from a
//! reader and from prefix checks), no query, no fragment. Never resolves a name or touches
//! the network.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// A base URL that passed the rule; its text is the parser's normalised form, without a
/// trailing `/`, so the host a client connects to is the host that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl {
    text: String,
    host: String,
    port: u16,
    loopback: bool,
}

/// Why a URL was refused; the message names the URL and says what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{url:?} is not a URL ({reason}): use https://host[:port][/path]")]
    Invalid { url: String, reason: String },
    #[error("{url:?} is not an https:// URL")]
    Scheme { url: String },
    #[error("{url} uses plain http: only loopback hosts may; use https://")]
    PlainHttp { url: String },
    #[error(
        "{url} contains a user name or password before `@`: remove it (the API key is sent separately)"
    )]
    UserInfo { url: String },
    #[error("{url} has a query or fragment: give only scheme, host, port and path")]
    QueryOrFragment { url: String },
}

impl ApiUrl {
    pub fn parse(value: &str) -> Result<ApiUrl, UrlError> {
        let trimmed = value.trim();
        let shown = shown(trimmed);
        let url = Url::parse(trimmed).map_err(|err| UrlError::Invalid {
            url: shown.clone(),
            reason: err.to_string(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo { url: shown });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(UrlError::QueryOrFragment { url: shown });
        }
        let host = match url.host() {
            Some(host) if url.scheme() == "https" || url.scheme() == "http" => host,
            _ => return Err(UrlError::Scheme { url: shown }),
        };
        let loopback = is_loopback(&host);
        if url.scheme() == "http" && !loopback {
            return Err(UrlError::PlainHttp {
                url: trimmed.trim_end_matches('/').to_string(),
            });
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let host = match host {
            Host::Domain(name) => name.to_string(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => format!("[{ip}]"),
        };
        Ok(ApiUrl {
            text: url.as_str().trim_end_matches('/').to_string(),
            host,
            port,
            loopback,
        })
    }

    /// The base URL, normalised, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host as the parser normalised it (IPv6 in brackets), for messages and NO_PROXY.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True for a loopback host: plain http allowed, and never sent through a proxy.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    pub fn is_https(&self) -> bool {
        self.text.starts_with("https://")
    }

    /// `path` (starting with `/`) under this base.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.text)
    }
}

impl PartialEq<&str> for ApiUrl {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The loopback rule, in one place: a loopback IP address, or exactly `localhost`.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
        Host::Domain(name) => *name == "localhost",
    }
}

/// A refused value is echoed in the error, so it must not carry a password back out, nor
/// control characters to the terminal.
fn shown(value: &str) -> String {
    let value = match value.split_once('@') {
        Some((before, after)) if before.contains("://") => {
            let scheme = before.split_once("://").map_or("", |(s, _)| s);
            format!("{scheme}://…@{after}")
        }
        _ => value.to_string(),
    };
    crate::sanitize::terminal_safe(&value)
}

/// Percent-encodes one URL component (a path segment or a query value): RFC 3986's unreserved
/// characters stay, every other byte becomes `%XX`.
pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> ApiUrl {
        ApiUrl::parse(url).unwrap_or_else(|err| panic!("{url}: {err}"))
    }

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        assert_eq!(
            ok("https://api.deepgram.com/").as_str(),
            "https://api.deepgram.com"
        );
        assert_eq!(
            ok(" https://API.Deepgram.com/base/ ").as_str(),
            "https://api.deepgram.com/base"
        );
        for url in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:1",
            "http://LOCALHOST:1",
            "http://[::1]:9",
        ] {
            assert!(ok(url).is_loopback(), "{url}");
        }
        assert_eq!(ok("http://[::1]:9").host(), "[::1]");
        assert!(!ok("https://api.deepgram.com").is_loopback());
    }

    #[test]
    fn look_alike_hosts_are_not_loopback() {
        for url in [
            "http://127.evil.example.com",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "http://localhostevil.example",
            "http://[::2]",
            "http://api.deepgram.com",
        ] {
            assert!(
                matches!(ApiUrl::parse(url), Err(UrlError::PlainHttp { .. })),
                "{url}"
            );
        }
        assert!(!ok("https://127.evil.example.com").is_loopback());
    }

    #[test]
    fn userinfo_is_refused_even_when_it_looks_like_loopback() {
        for url in [
            "http://127.0.0.0@evil.example",
            "http://127.a.b.c@[::1]:8080",
            "https://user:pw@api.deepgram.com",
            "https://:pw@api.deepgram.com",
        ] {
            let err = ApiUrl::parse(url).unwrap_err();
            assert!(matches!(err, UrlError::UserInfo { .. }), "{url}: {err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn other_schemes_queries_and_garbage_are_refused() {
        assert_eq!(
            ApiUrl::parse("ftp://x").unwrap_err().to_string(),
            "\"ftp://x\" is not an https:// URL"
        );
        assert!(matches!(
            ApiUrl::parse("https://a.example/?x=1"),
            Err(UrlError::QueryOrFragment { .. })
        ));
        assert!(matches!(
            ApiUrl::parse("api.deepgram.com"),
            Err(UrlError::Invalid { .. })
        ));
        assert!(matches!(
            ApiUrl::parse("https://"),
            Err(UrlError::Invalid { .. })
        ));
        assert_eq!(
            ApiUrl::parse("http://api.deepgram.com")
                .unwrap_err()
                .to_string(),
            "http://api.deepgram.com uses plain http: only loopback hosts may; use https://"
        );
    }

    #[test]
    fn paths_are_joined_under_the_base() {
        assert_eq!(
            ok("https://gw.example/deepgram/").join("/v1/projects"),
            "https://gw.example/deepgram/v1/projects"
        );
    }
}
