//! Every environment variable the helper reads, one documented constant each.
//!
//! Ours all start with `DOCKER_CREDENTIAL_DEEPGRAM_`; the two exceptions are Deepgram's own
//! `DEEPGRAM_API_KEY` and `DEEPGRAM_PROJECT_ID`. The README's table mirrors this file, and the
//! integration tests clear every name in [`ALL`] so that a developer's shell cannot leak in.

/// Directory holding `config.toml`, the non-secret index and (when used) the file store.
pub const CONFIG_DIR: &str = "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR";
/// Secret backend: `auto` (default), `keyring` or `file`. Overrides config key `store`.
pub const STORE: &str = "DOCKER_CREDENTIAL_DEEPGRAM_STORE";
/// Diagnostics on stderr: `off`, `warn` (default) or `debug`.
pub const LOG: &str = "DOCKER_CREDENTIAL_DEEPGRAM_LOG";
/// Comma-separated registries that provision Deepgram credentials. Overrides `registries`.
pub const REGISTRIES: &str = "DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES";
/// Base URL of the Deepgram API. Overrides `api_url`.
pub const API_URL: &str = "DOCKER_CREDENTIAL_DEEPGRAM_API_URL";
/// `auto` or `never`. Overrides `provision`.
pub const PROVISION: &str = "DOCKER_CREDENTIAL_DEEPGRAM_PROVISION";
/// Comma-separated product scopes for new credentials. Overrides `scopes`.
pub const SCOPES: &str = "DOCKER_CREDENTIAL_DEEPGRAM_SCOPES";
/// Comment on new credentials. Overrides `comment`.
pub const COMMENT: &str = "DOCKER_CREDENTIAL_DEEPGRAM_COMMENT";
/// How long to wait for another process that is provisioning, e.g. `30s`. Overrides `lock_timeout`.
pub const LOCK_TIMEOUT: &str = "DOCKER_CREDENTIAL_DEEPGRAM_LOCK_TIMEOUT";
/// Connect timeout for the Deepgram API. Overrides `connect_timeout`.
pub const CONNECT_TIMEOUT: &str = "DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT";
/// Whole-request timeout for the Deepgram API. Overrides `request_timeout`.
pub const REQUEST_TIMEOUT: &str = "DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT";
/// Total time budget for retrying a create that the server provably did not act on.
/// Overrides `retry_budget`.
pub const RETRY_BUDGET: &str = "DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET";
/// How long a failed create is remembered (`0s`: off). Overrides `failure_backoff`.
pub const FAILURE_BACKOFF: &str = "DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF";
/// Cache duration announced to the kubelet. Overrides `kubelet_cache_duration`.
pub const KUBELET_CACHE_DURATION: &str = "DOCKER_CREDENTIAL_DEEPGRAM_KUBELET_CACHE_DURATION";
/// `self-hosted` or `onprem`: the path of the credential endpoints. Overrides `api_path`.
pub const API_PATH: &str = "DOCKER_CREDENTIAL_DEEPGRAM_API_PATH";
/// How often `get` checks that its credential still exists (`never`, `0s`: every `get`).
/// Overrides `revalidate_after`.
pub const REVALIDATE_AFTER: &str = "DOCKER_CREDENTIAL_DEEPGRAM_REVALIDATE_AFTER";
/// Age at which `get` rotates a credential this install created (`never`). Overrides
/// `rotate_after`.
pub const ROTATE_AFTER: &str = "DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER";
/// How long a credential this install rotated or erased stays live for its copies (`0s`: a
/// rotation deletes the old one at once). Overrides `rotate_grace`.
pub const ROTATE_GRACE: &str = "DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE";

/// Call log: append one line per invocation to this file. Overrides `log_file`.
pub const LOG_FILE: &str = "DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE";

/// Deepgram API key used to create distribution credentials.
pub const DEEPGRAM_API_KEY: &str = "DEEPGRAM_API_KEY";
/// Deepgram project in which credentials are created. Overrides `project_id`.
pub const DEEPGRAM_PROJECT_ID: &str = "DEEPGRAM_PROJECT_ID";

/// Every variable above, for tests that must start from a clean environment.
pub const ALL: &[&str] = &[
    CONFIG_DIR,
    STORE,
    LOG,
    REGISTRIES,
    API_URL,
    PROVISION,
    SCOPES,
    COMMENT,
    LOCK_TIMEOUT,
    CONNECT_TIMEOUT,
    REQUEST_TIMEOUT,
    RETRY_BUDGET,
    FAILURE_BACKOFF,
    KUBELET_CACHE_DURATION,
    API_PATH,
    REVALIDATE_AFTER,
    ROTATE_AFTER,
    ROTATE_GRACE,
    LOG_FILE,
    DEEPGRAM_API_KEY,
    DEEPGRAM_PROJECT_ID,
];

/// The value of `name`, or `None` when unset or empty (an empty variable means "not set").
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Other tools' variables that `configure` reads to find their files, exactly as they do.
pub mod clients {
    /// Docker's config directory (`config.json` inside).
    pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
    /// containers/image's auth file (podman, skopeo, buildah).
    pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
    /// Base of `containers/auth.json` when `REGISTRY_AUTH_FILE` is unset.
    pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
    /// The home directory, for the default paths.
    pub const HOME: &str = "HOME";
    /// Where clients look for `docker-credential-deepgram`.
    pub const PATH: &str = "PATH";
}

/// Other tools' variables that set up the network, read as curl reads them (lowercase first).
/// Our tests clear them with everything else; see `crate::http`.
pub mod network {
    pub const HTTPS_PROXY_LOWER: &str = "https_proxy";
    pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
    pub const ALL_PROXY_LOWER: &str = "all_proxy";
    pub const ALL_PROXY: &str = "ALL_PROXY";
    pub const NO_PROXY_LOWER: &str = "no_proxy";
    pub const NO_PROXY: &str = "NO_PROXY";
    /// A PEM bundle of trusted CAs, replacing the system store (read by rustls-native-certs).
    pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
    /// A directory of trusted CA certificates (read by rustls-native-certs).
    pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
}
