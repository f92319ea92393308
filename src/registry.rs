//! Server names: which spellings mean the same registry.
//!
//! The reference Go helpers key credentials by the exact string they are given, so
//! `quay.io`, `https://quay.io`, `quay.io:443` and `https://quay.io/` are four different
//! credentials and users suffer for it (docker-credential-helpers #14, #58; nerdctl #1263).
//! Here every spelling of one registry maps to one canonical key: scheme dropped, host
//! lowercased, the default port `:443` dropped, Docker Hub's many names folded into
//! `docker.io`, and the API roots `/v1/` and `/v2/` treated as the registry itself. Other
//! hosts, ports and paths stay distinct: Docker keeps `https://index.docker.io/v1/refresh-token`
//! as a key of its own, and it must never answer with the Hub password.
//!
//! Pure string work: no I/O, no allocation beyond the result.

/// Host names that all mean Docker Hub.
const DOCKER_HUB_HOSTS: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// The canonical key for a server string as clients send it to `get`, `store` and `erase`.
///
/// ```text
/// "https://Quay.IO:443/"          -> "quay.io"
/// "https://index.docker.io/v1/"   -> "docker.io"
/// "https://index.docker.io/v1/refresh-token" -> "docker.io/v1/refresh-token"
/// "localhost:5000/team"           -> "localhost:5000/team"
/// ```
///
/// The key is stable, `canonical(&canonical(s)) == canonical(s)`: whitespace is trimmed again
/// wherever cutting off a part exposes it, and a doubled scheme is stripped too (found by
/// fuzz/docker_stdin).
pub fn canonical(server: &str) -> String {
    let mut without_scheme = server.trim();
    loop {
        let rest = strip_scheme(without_scheme).trim_start();
        if rest.len() == without_scheme.len() {
            break;
        }
        without_scheme = rest;
    }
    // Query and fragment never name a different registry.
    let without_query = without_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or(without_scheme)
        .trim_end();
    let (authority, path) = match without_query.find('/') {
        Some(slash) => without_query.split_at(slash),
        None => (without_query, ""),
    };
    let path = path.trim_end_matches(|c: char| c == '/' || c.is_whitespace());
    let path = match path {
        "/v1" | "/v2" => "",
        other => other,
    };
    // Trimmed only where the host ends the key (before and after `:443` is cut): trimming
    // before a path could join `https:` and `//` into a scheme.
    let host = if path.is_empty() {
        normalise_authority(authority.trim_end())
            .trim_end()
            .to_string()
    } else {
        normalise_authority(authority)
    };
    let host = host.as_str();
    let host = if DOCKER_HUB_HOSTS.contains(&host) {
        "docker.io"
    } else {
        host
    };
    format!("{host}{path}")
}

/// True when two server strings name the same registry (and path).
pub fn same_registry(a: &str, b: &str) -> bool {
    canonical(a) == canonical(b)
}

fn strip_scheme(server: &str) -> &str {
    for scheme in ["https://", "http://"] {
        // `get` is boundary-safe: the prefix may end inside a multi-byte character.
        if server
            .get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
        {
            return &server[scheme.len()..];
        }
    }
    server
}

/// Lowercases the host and drops `:443`, keeping IPv6 brackets and any other port.
fn normalise_authority(authority: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    match lower.strip_suffix(":443") {
        // `[::1]:443` -> `[::1]`; but never strip from a bare IPv6 literal like `::443`.
        Some(host) if !host.is_empty() && (host.ends_with(']') || !host.contains(':')) => {
            host.to_string()
        }
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_spellings_are_one_registry() {
        for spelling in [
            "quay.io",
            "https://quay.io",
            "https://quay.io/",
            "quay.io:443",
            "https://quay.io:443/",
            "HTTPS://QUAY.IO",
            "  quay.io\n",
            "http://quay.io",
            "https://quay.io/v2/",
        ] {
            assert_eq!(canonical(spelling), "quay.io", "{spelling:?}");
        }
    }

    #[test]
    fn docker_hub_spellings_are_one_registry() {
        for spelling in [
            "https://index.docker.io/v1/",
            "https://index.docker.io/v1",
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
        ] {
            assert_eq!(canonical(spelling), "docker.io", "{spelling:?}");
        }
    }

    #[test]
    fn hub_token_keys_stay_distinct_from_the_password() {
        assert_eq!(
            canonical("https://index.docker.io/v1/refresh-token"),
            "docker.io/v1/refresh-token"
        );
        assert_eq!(
            canonical("https://index.docker.io/v1/access-token"),
            "docker.io/v1/access-token"
        );
        assert!(!same_registry(
            "https://index.docker.io/v1/refresh-token",
            "https://index.docker.io/v1/"
        ));
    }

    #[test]
    fn other_hosts_ports_and_paths_stay_distinct() {
        assert_eq!(canonical("localhost:5000"), "localhost:5000");
        assert_eq!(canonical("http://localhost:5000/"), "localhost:5000");
        assert!(!same_registry("localhost:5000", "localhost:5001"));
        assert!(!same_registry("quay.io", "quay.io:8443"));
        assert!(!same_registry("quay.io", "quay.io/deepgram"));
        assert!(!same_registry("quay.io", "quay.io.evil.example"));
        assert_eq!(canonical("quay.io/Deepgram/"), "quay.io/Deepgram");
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        assert_eq!(canonical("[::1]:5000"), "[::1]:5000");
        assert_eq!(canonical("https://[::1]:443/"), "[::1]");
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        // Found by tests/it/parsers.rs: a scheme-length slice inside U+2028.
        assert_eq!(
            canonical("[::1]\u{2028}:5000/team"),
            "[::1]\u{2028}:5000/team"
        );
        assert_eq!(canonical("ü"), "ü");
    }

    #[test]
    fn keys_are_stable_when_canonicalised_again() {
        // Found by fuzz/docker_stdin: whitespace left before `?`, `/` or `:443`, and a
        // doubled scheme, made a key that a second pass changed; so did a scheme joined by
        // trimming inside.
        for (server, key) in [
            (
                "x.`\"Username\": \"uoq_/\0\0\0L\u{2}: \"]ml.exampe\"l,  ?",
                "x.`\"username\": \"uoq_/\0\0\0L\u{2}: \"]ml.exampe\"l,",
            ),
            ("quay.io  ?x=1", "quay.io"),
            ("quay.io/v2 /", "quay.io"),
            ("quay.io :443", "quay.io"),
            ("https://https://quay.io", "quay.io"),
            ("https:// Quay.io/team /", "quay.io/team"),
            ("quay.io/a b", "quay.io/a b"),
            ("quay.io /v2/", "quay.io"),
            ("https:    //[::1]:448/v2/", "https:    //[::1]:448/v2"),
        ] {
            assert_eq!(canonical(server), key, "{server:?}");
            assert_eq!(canonical(key), key, "{key:?}");
        }
    }

    #[test]
    fn query_and_fragment_are_ignored() {
        assert_eq!(canonical("https://quay.io/?x=1"), "quay.io");
        assert_eq!(canonical("quay.io#frag"), "quay.io");
    }
}
