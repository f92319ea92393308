//! `config.toml` as a person writes it, parsed over the defaults without the environment.
//!
//! Invariants: no panic; an error names the file and is one line; a loaded config has
//! canonical, distinct, non-blank registries, at least one non-blank scope, a comment of 1 to
//! 128 characters, an `https://` API URL (plain `http://` only to loopback) without a trailing
//! slash, and durations that format.
#![no_main]

use std::path::PathBuf;

use docker_credential_deepgram::config::{self, Config};
use docker_credential_deepgram::{duration, registry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml(PathBuf::from("/fuzz"), text) {
        Ok(config) => config,
        Err(err) => {
            let message = err.to_string();
            assert!(message.starts_with("/fuzz/config.toml: "), "{message}");
            assert!(!message.contains(['\n', '\r']), "{message:?}");
            return;
        }
    };
    for (index, key) in config.registries.iter().enumerate() {
        assert!(
            !key.is_empty() && !key.contains(char::is_whitespace),
            "{key:?}"
        );
        assert_eq!(&registry::canonical(key), key);
        assert!(!config.registries[..index].contains(key), "{key:?} twice");
    }
    assert!(!config.scopes.is_empty());
    for scope in &config.scopes {
        assert!(!scope.is_empty() && scope.trim() == scope, "{scope:?}");
    }
    if let Some(comment) = &config.comment {
        let chars = comment.chars().count();
        assert!(
            (1..=config::MAX_COMMENT_CHARS).contains(&chars),
            "{comment:?}"
        );
        assert_eq!(comment.trim(), comment);
    }
    if let Some(project) = &config.project_id {
        assert!(
            !project.is_empty() && project.trim() == project,
            "{project:?}"
        );
    }
    let url = config.api_url.as_str().to_ascii_lowercase();
    assert!(
        url.starts_with("https://") || url.starts_with("http://"),
        "{url:?}"
    );
    assert!(!url.ends_with('/'), "{url:?}");
    for value in [
        config.lock_timeout,
        config.connect_timeout,
        config.request_timeout,
        config.retry_budget,
        config.failure_backoff,
        config.kubelet_cache_duration,
    ] {
        duration::format(value);
    }
});
