//! The HTTP agent rules every client of ours shares: whom TLS trusts, which proxy (if any)
//! carries a request, timeouts, and no redirects. One place, so that a later switch of TLS
//! stack on macOS/Windows, or a second client (the registry check), changes nothing else.
//!
//! TLS: whatever [`crate::tls`] chooses for the platform (on Linux rustls with the platform
//! verifier: the system CA store, `SSL_CERT_FILE` and `SSL_CERT_DIR`, as curl trusts them).
//! Proxies: `https_proxy`/`HTTPS_PROXY`, else `all_proxy`/`ALL_PROXY`, unless `no_proxy`/
//! `NO_PROXY` names the host; a loopback URL never goes through a proxy.
//! Never sends anything itself and never reads a secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, Transport};

use crate::endpoint::ApiUrl;
use crate::env::network;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

/// A proxy variable we could not use. Going direct instead would bypass what the user set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "environment variable {name} is not a usable proxy ({reason}): set it to http://host:port, or unset it"
)]
pub struct ProxyError {
    pub name: &'static str,
    pub reason: String,
}

/// The agent for requests to `url`: no redirects (a key is never replayed elsewhere), https
/// required unless the URL is loopback, status codes returned as responses, not errors.
pub fn agent(url: &ApiUrl, timeouts: Timeouts) -> Result<ureq::Agent, ProxyError> {
    Ok(agent_with_env(url, timeouts, &|name| std::env::var(name).ok())?.0)
}

/// [`agent`], and the note of whether a request's connection failed before anything was sent.
pub fn agent_noting_connect(
    url: &ApiUrl,
    timeouts: Timeouts,
) -> Result<(ureq::Agent, ConnectNote), ProxyError> {
    agent_with_env(url, timeouts, &|name| std::env::var(name).ok())
}

/// Whether the last request failed while its connection was being made: the TCP connect, a
/// proxy's `CONNECT` (refused, or reset before any tunnel), or the TLS handshake. Then nothing
/// of the request was sent, whatever the error looks like. A request on a pooled connection
/// makes no connection, so its failure is never noted here (and stays "may have acted").
#[derive(Debug, Clone, Default)]
pub struct ConnectNote(Arc<AtomicBool>);

impl ConnectNote {
    /// Call before each request.
    pub fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub fn failed_while_connecting(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// ureq's own connector chain, noting a failure in [`ConnectNote`].
#[derive(Debug)]
struct NotingConnector {
    inner: DefaultConnector,
    note: ConnectNote,
}

impl Connector<()> for NotingConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let connected = self.inner.connect(details, chained);
        if connected.is_err() {
            self.note.0.store(true, Ordering::SeqCst);
        }
        connected
    }
}

fn agent_with_env(
    url: &ApiUrl,
    timeouts: Timeouts,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(ureq::Agent, ConnectNote), ProxyError> {
    let proxy = if url.is_loopback() {
        None
    } else {
        proxy_for(url, get)?
    };
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(timeouts.connect))
        .timeout_global(Some(timeouts.request))
        .max_redirects(0)
        .https_only(!url.is_loopback())
        .tls_config(crate::tls::config())
        .proxy(proxy)
        .user_agent(concat!(
            "docker-credential-deepgram/",
            env!("CARGO_PKG_VERSION")
        ))
        .build();
    let note = ConnectNote::default();
    let connector = NotingConnector {
        inner: DefaultConnector::default(),
        note: note.clone(),
    };
    Ok((
        ureq::Agent::with_parts(config, connector, LookupFailureIsNotFound::default()),
        note,
    ))
}

/// ureq's resolver, except that a failed lookup is [`ureq::Error::HostNotFound`]: std reports
/// it as an uncategorised I/O error, indistinguishable from a connection lost mid-request,
/// and a lookup that failed has provably sent nothing.
#[derive(Debug, Default)]
struct LookupFailureIsNotFound(ureq::unversioned::resolver::DefaultResolver);

impl ureq::unversioned::resolver::Resolver for LookupFailureIsNotFound {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        self.0
            .resolve(uri, config, timeout)
            .map_err(|err| match err {
                ureq::Error::Io(io) => {
                    crate::debug!("lookup of {uri} failed: {io}");
                    ureq::Error::HostNotFound
                }
                other => other,
            })
    }
}

/// The proxy for an https `url` from the environment (`get` reads a variable), honouring
/// NO_PROXY. Lowercase names first, as curl reads them.
pub fn proxy_for(
    url: &ApiUrl,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ureq::Proxy>, ProxyError> {
    let set = |name: &'static str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (name, v))
    };
    if !url.is_https() {
        // Plain http only ever reaches loopback, which never goes through a proxy.
        return Ok(None);
    }
    let chosen = set(network::HTTPS_PROXY_LOWER)
        .or_else(|| set(network::HTTPS_PROXY))
        .or_else(|| set(network::ALL_PROXY_LOWER))
        .or_else(|| set(network::ALL_PROXY));
    let Some((name, value)) = chosen else {
        return Ok(None);
    };
    let no_proxy = set(network::NO_PROXY_LOWER).or_else(|| set(network::NO_PROXY));
    if let Some((_, list)) = no_proxy
        && no_proxy_matches(&list, url.host(), url.port())
    {
        crate::debug!("{} is in NO_PROXY: connecting directly", url.host());
        return Ok(None);
    }
    let value = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(ProxyError {
            name,
            reason: "only http:// and https:// proxies are supported".into(),
        });
    }
    let proxy = ureq::Proxy::new(&value).map_err(|err| ProxyError {
        name,
        reason: crate::sanitize::terminal_safe(&err.to_string()),
    })?;
    crate::debug!("through the proxy in {name}");
    Ok(Some(proxy))
}

/// The usual NO_PROXY rule (curl's): a comma-separated list; `*` matches every host; an entry
/// matches the host itself and its subdomains (a leading `.` or `*.` is ignored); an entry may
/// end in `:port`, and then only that port matches. Case does not matter; IPv6 addresses may
/// be written with or without brackets.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, entry_port) = split_port(entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase();
            !name.is_empty()
                && (host == name
                    || host
                        .strip_suffix(&name)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

/// `host:port`, `[v6]:port` or a bare host (a bare IPv6 address has several colons).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((v6, tail)) => (v6, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

pub use crate::tls::{TlsFailure, failure as tls_failure};

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> ApiUrl {
        ApiUrl::parse(u).unwrap()
    }

    #[test]
    fn no_proxy_follows_the_usual_rule() {
        let m = |list: &str, host: &str| no_proxy_matches(list, host, 443);
        assert!(m("*", "api.deepgram.com"));
        assert!(m("api.deepgram.com", "api.deepgram.com"));
        assert!(m("API.Deepgram.COM", "api.deepgram.com"));
        assert!(
            m("deepgram.com", "api.deepgram.com"),
            "a domain covers subdomains"
        );
        assert!(m(".deepgram.com", "api.deepgram.com"));
        assert!(m("*.deepgram.com", "api.deepgram.com"));
        assert!(
            m(" example.org , deepgram.com ", "api.deepgram.com"),
            "spaces"
        );
        assert!(
            !m("evildeepgram.com", "api.deepgram.com") && !m("api.deepgram.com", "deepgram.com")
        );
        assert!(!m("pi.deepgram.com", "api.deepgram.com"));
        assert!(!m("", "api.deepgram.com") && !m(",,", "api.deepgram.com"));
        assert!(m("api.deepgram.com:443", "api.deepgram.com"));
        assert!(!m("api.deepgram.com:8443", "api.deepgram.com"));
        assert!(m("10.0.0.1", "10.0.0.1"));
        assert!(m("::1,[fd00::1]:443", "[fd00::1]"));
        assert!(m("fd00::1", "[fd00::1]"));
    }

    #[test]
    fn proxies_come_from_https_proxy_then_all_proxy_unless_no_proxy() {
        let target = url("https://api.deepgram.com");
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let host = |vars| {
            proxy_for(&target, &env(vars))
                .unwrap()
                .map(|p| format!("{}:{}", p.host(), p.port()))
        };
        assert_eq!(host(&[]), None);
        assert_eq!(
            host(&[("HTTPS_PROXY", "http://proxy.corp:3128")]).as_deref(),
            Some("proxy.corp:3128")
        );
        assert_eq!(
            host(&[("https_proxy", "lower:1"), ("HTTPS_PROXY", "upper:2")]).as_deref(),
            Some("lower:1"),
            "lowercase first, scheme optional"
        );
        assert_eq!(
            host(&[("ALL_PROXY", "http://all:3")]).as_deref(),
            Some("all:3")
        );
        assert_eq!(host(&[("HTTP_PROXY", "http://plain:4")]), None, "http only");
        assert_eq!(
            host(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "deepgram.com")]),
            None
        );
        assert_eq!(
            host(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]),
            None
        );
        let err = proxy_for(&target, &env(&[("HTTPS_PROXY", "socks5://s:1")])).unwrap_err();
        assert_eq!(err.name, "HTTPS_PROXY");
    }

    #[test]
    fn loopback_never_uses_a_proxy() {
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(1),
        };
        let env =
            |name: &str| (name == "HTTPS_PROXY").then(|| "http://proxy.corp:3128".to_string());
        for (target, proxied) in [
            ("https://localhost:9", false),
            ("http://127.0.0.1:9", false),
            ("https://[::1]:9", false),
            ("https://api.deepgram.com", true),
        ] {
            let (agent, _) = agent_with_env(&url(target), timeouts, &env).unwrap();
            assert_eq!(agent.config().proxy().is_some(), proxied, "{target}");
        }
    }
}
