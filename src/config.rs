//! Settings: built-in defaults, then `config.toml`, then environment variables.
//!
//! The config directory is `DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR`, else the platform config
//! dir (`~/.config/docker-credential-deepgram` on Linux). `config.toml` is optional; an unknown
//! key or a bad value is an error naming the file and the key, and a bad environment value is an
//! error naming the variable. Loading reads one small file and never touches the network.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::env;

pub const CONFIG_FILE: &str = "config.toml";
pub const DEFAULT_API_URL: &str = "https://api.deepgram.com";
pub const DEFAULT_REGISTRIES: &[&str] = &["quay.io"];
pub const DEFAULT_SCOPES: &[&str] = &["self-hosted:product:api", "self-hosted:product:engine"];
/// The API rejects longer comments with 400.
pub const MAX_COMMENT_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The OS keychain when reachable, else the 0600 file with a warning.
    Auto,
    /// The OS keychain or an error.
    Keyring,
    /// The 0600 file.
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    Auto,
    Never,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub store: StoreChoice,
    /// Canonical registry keys that provision Deepgram credentials on first use.
    pub registries: Vec<String>,
    pub api_url: String,
    pub project_id: Option<String>,
    pub scopes: Vec<String>,
    /// `None`: the default, naming the tool and host.
    pub comment: Option<String>,
    pub provision: Provision,
    pub lock_timeout: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry_budget: Duration,
    pub kubelet_cache_duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot find a config directory (no home directory): set {} to a private directory",
        env::CONFIG_DIR
    )]
    NoConfigDir,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: key `{key}`: {message}")]
    FileKey {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

/// `config.toml` as written by a person: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    store: Option<String>,
    registries: Option<Vec<String>>,
    api_url: Option<String>,
    project_id: Option<String>,
    scopes: Option<Vec<String>>,
    comment: Option<String>,
    provision: Option<String>,
    lock_timeout: Option<toml::Value>,
    connect_timeout: Option<toml::Value>,
    request_timeout: Option<toml::Value>,
    retry_budget: Option<toml::Value>,
    kubelet_cache_duration: Option<toml::Value>,
}

/// Where a value came from, so that an error names it.
enum Source<'a> {
    File(&'a Path, &'static str),
    Env(&'static str),
}

impl Source<'_> {
    fn error(&self, message: String) -> ConfigError {
        match *self {
            Source::File(path, key) => ConfigError::FileKey {
                path: path.to_path_buf(),
                key,
                message,
            },
            Source::Env(name) => ConfigError::Env { name, message },
        }
    }
}

impl Config {
    /// Loads from the environment's config directory.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(config_dir()?)
    }

    /// Loads `dir/config.toml` (if present) and applies environment overrides.
    pub fn load_from(dir: PathBuf) -> Result<Config, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let text = match crate::files::read_optional(&path) {
            // No file means the same as an empty one: all defaults.
            Ok(None) => String::new(),
            Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| ConfigError::File {
                path: path.clone(),
                message: "not valid UTF-8".into(),
            })?,
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let mut config = Config::from_toml(dir, &text)?;
        config.apply_env()?;
        Ok(config)
    }

    /// The defaults overridden by `text`, the contents of `dir/config.toml`; errors name that
    /// file. Reads no file and no environment variable (the fuzz target `config_toml` calls
    /// it); [`Config::load_from`] adds the environment on top.
    pub fn from_toml(dir: PathBuf, text: &str) -> Result<Config, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let file: FileConfig = toml::from_str(text).map_err(|err| ConfigError::File {
            path: path.clone(),
            message: err.message().to_string()
                + &err
                    .span()
                    .map(|span| format!(" (at byte {})", span.start))
                    .unwrap_or_default(),
        })?;
        let mut config = Config::defaults(dir);
        config.apply_file(file, &path)?;
        Ok(config)
    }

    fn defaults(dir: PathBuf) -> Config {
        Config {
            dir,
            store: StoreChoice::Auto,
            registries: DEFAULT_REGISTRIES.iter().map(|r| r.to_string()).collect(),
            api_url: DEFAULT_API_URL.to_string(),
            project_id: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            comment: None,
            provision: Provision::Auto,
            lock_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry_budget: Duration::from_secs(30),
            kubelet_cache_duration: Duration::from_secs(12 * 3600),
        }
    }

    fn apply_file(&mut self, file: FileConfig, path: &Path) -> Result<(), ConfigError> {
        let at = |key| Source::File(path, key);
        if let Some(v) = file.store {
            self.store = parse_store(&v, at("store"))?;
        }
        if let Some(v) = file.registries {
            self.registries = parse_registries(v.iter().map(String::as_str), at("registries"))?;
        }
        if let Some(v) = file.api_url {
            self.api_url = parse_api_url(&v, at("api_url"))?;
        }
        if let Some(v) = file.project_id {
            self.project_id = Some(parse_nonempty(&v, at("project_id"))?);
        }
        if let Some(v) = file.scopes {
            self.scopes = parse_scopes(v.iter().map(String::as_str), at("scopes"))?;
        }
        if let Some(v) = file.comment {
            self.comment = Some(parse_comment(&v, at("comment"))?);
        }
        if let Some(v) = file.provision {
            self.provision = parse_provision(&v, at("provision"))?;
        }
        for (value, key, slot) in [
            (file.lock_timeout, "lock_timeout", &mut self.lock_timeout),
            (
                file.connect_timeout,
                "connect_timeout",
                &mut self.connect_timeout,
            ),
            (
                file.request_timeout,
                "request_timeout",
                &mut self.request_timeout,
            ),
            (file.retry_budget, "retry_budget", &mut self.retry_budget),
            (
                file.kubelet_cache_duration,
                "kubelet_cache_duration",
                &mut self.kubelet_cache_duration,
            ),
        ] {
            if let Some(value) = value {
                let text = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(n) if n >= 0 => n.to_string(),
                    other => {
                        return Err(at(key).error(format!(
                            "expected a duration like \"30s\", got {}",
                            other.type_str()
                        )));
                    }
                };
                *slot = parse_duration(&text, at(key))?;
            }
        }
        Ok(())
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        let from = Source::Env;
        if let Some(v) = env::var(env::STORE) {
            self.store = parse_store(&v, from(env::STORE))?;
        }
        if let Some(v) = env::var(env::REGISTRIES) {
            self.registries = parse_registries(v.split(','), from(env::REGISTRIES))?;
        }
        if let Some(v) = env::var(env::API_URL) {
            self.api_url = parse_api_url(&v, from(env::API_URL))?;
        }
        if let Some(v) = env::var(env::DEEPGRAM_PROJECT_ID) {
            self.project_id = Some(v.trim().to_string());
        }
        if let Some(v) = env::var(env::SCOPES) {
            self.scopes = parse_scopes(v.split(','), from(env::SCOPES))?;
        }
        if let Some(v) = env::var(env::COMMENT) {
            self.comment = Some(parse_comment(&v, from(env::COMMENT))?);
        }
        if let Some(v) = env::var(env::PROVISION) {
            self.provision = parse_provision(&v, from(env::PROVISION))?;
        }
        for (name, slot) in [
            (env::LOCK_TIMEOUT, &mut self.lock_timeout),
            (env::CONNECT_TIMEOUT, &mut self.connect_timeout),
            (env::REQUEST_TIMEOUT, &mut self.request_timeout),
            (env::RETRY_BUDGET, &mut self.retry_budget),
            (
                env::KUBELET_CACHE_DURATION,
                &mut self.kubelet_cache_duration,
            ),
        ] {
            if let Some(v) = env::var(name) {
                *slot = parse_duration(&v, from(name))?;
            }
        }
        Ok(())
    }

    /// True when `key` (canonical) provisions Deepgram credentials.
    pub fn is_provisioning_registry(&self, key: &str) -> bool {
        self.registries.iter().any(|r| r == key)
    }
}

/// `DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR`, else the platform config directory.
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    if let Some(dir) = env::var(env::CONFIG_DIR) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "docker-credential-deepgram")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(ConfigError::NoConfigDir)
}

fn parse_store(value: &str, source: Source) -> Result<StoreChoice, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(StoreChoice::Auto),
        "keyring" | "keychain" => Ok(StoreChoice::Keyring),
        "file" => Ok(StoreChoice::File),
        other => Err(source.error(format!(
            "unknown store {other:?}: use auto, keyring or file"
        ))),
    }
}

fn parse_provision(value: &str, source: Source) -> Result<Provision, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(Provision::Auto),
        "never" => Ok(Provision::Never),
        other => Err(source.error(format!("unknown value {other:?}: use auto or never"))),
    }
}

fn parse_registries<'a>(
    values: impl Iterator<Item = &'a str>,
    source: Source,
) -> Result<Vec<String>, ConfigError> {
    let mut registries = Vec::new();
    for value in values.map(str::trim).filter(|v| !v.is_empty()) {
        let key = crate::registry::canonical(value);
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(source.error(format!("{value:?} is not a registry host name")));
        }
        if !registries.contains(&key) {
            registries.push(key);
        }
    }
    Ok(registries)
}

fn parse_scopes<'a>(
    values: impl Iterator<Item = &'a str>,
    source: Source,
) -> Result<Vec<String>, ConfigError> {
    let scopes: Vec<String> = values
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(source.error(format!(
            "needs at least one scope, e.g. {}",
            DEFAULT_SCOPES.join(",")
        )));
    }
    Ok(scopes)
}

fn parse_comment(value: &str, source: Source) -> Result<String, ConfigError> {
    let comment = value.trim();
    if comment.is_empty() || comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(source.error(format!(
            "must be 1 to {MAX_COMMENT_CHARS} characters (the API rejects others)"
        )));
    }
    Ok(comment.to_string())
}

fn parse_nonempty(value: &str, source: Source) -> Result<String, ConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(source.error("must not be empty".into()));
    }
    Ok(value.to_string())
}

fn parse_duration(value: &str, source: Source) -> Result<Duration, ConfigError> {
    crate::duration::parse(value).map_err(|err| source.error(err.to_string()))
}

/// `https://` anywhere; plain `http://` only to a loopback host, so an API key never
/// crosses a network in clear text.
fn parse_api_url(value: &str, source: Source) -> Result<String, ConfigError> {
    let url = value.trim().trim_end_matches('/');
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host
            .rsplit_once(':')
            .filter(|(h, port)| !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let loopback = host == "localhost"
            || host == "[::1]"
            || host.starts_with("127.") && host.split('.').count() == 4;
        if !loopback {
            return Err(source.error(format!(
                "{url} uses plain http: only loopback hosts may; use https://"
            )));
        }
    } else if !lower.starts_with("https://") || lower.len() <= "https://".len() {
        return Err(source.error(format!("{url:?} is not an https:// URL")));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), toml).unwrap();
        let mut config = Config::defaults(dir.path().to_path_buf());
        let file: FileConfig = toml::from_str(toml).map_err(|err| ConfigError::File {
            path: dir.path().join(CONFIG_FILE),
            message: err.message().to_string(),
        })?;
        config.apply_file(file, &dir.path().join(CONFIG_FILE))?;
        Ok(config)
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = load("").unwrap();
        assert_eq!(config.store, StoreChoice::Auto);
        assert_eq!(config.registries, ["quay.io"]);
        assert_eq!(config.api_url, "https://api.deepgram.com");
        assert_eq!(
            config.scopes,
            ["self-hosted:product:api", "self-hosted:product:engine"]
        );
        assert_eq!(config.provision, Provision::Auto);
        assert_eq!(config.lock_timeout, Duration::from_secs(60));
        assert_eq!(config.kubelet_cache_duration, Duration::from_secs(43200));
    }

    #[test]
    fn file_values_are_parsed_and_registries_normalised() {
        let config = load(
            "store = \"file\"\nregistries = [\"https://Quay.io/\", \"localhost:5000\", \"quay.io:443\"]\nlock_timeout = \"2s\"\nrequest_timeout = 7\n",
        )
        .unwrap();
        assert_eq!(config.store, StoreChoice::File);
        assert_eq!(config.registries, ["quay.io", "localhost:5000"]);
        assert_eq!(config.lock_timeout, Duration::from_secs(2));
        assert_eq!(config.request_timeout, Duration::from_secs(7));
    }

    #[test]
    fn unknown_key_names_the_file_and_key() {
        let err = load("stor = \"file\"\n").unwrap_err().to_string();
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("unknown field `stor`"), "{err}");
    }

    #[test]
    fn bad_value_names_the_key_and_the_fix() {
        let err = load("store = \"vault\"\n").unwrap_err().to_string();
        assert!(
            err.ends_with(
                "config.toml: key `store`: unknown store \"vault\": use auto, keyring or file"
            ),
            "{err}"
        );
        let err = load("lock_timeout = \"soon\"\n").unwrap_err().to_string();
        assert!(
            err.contains("key `lock_timeout`: invalid duration \"soon\""),
            "{err}"
        );
        let err = load(&format!("comment = \"{}\"\n", "x".repeat(129)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key `comment`: must be 1 to 128 characters"),
            "{err}"
        );
    }

    #[test]
    fn api_url_must_be_https_unless_loopback() {
        let ok = |u: &str| parse_api_url(u, Source::Env(env::API_URL));
        assert_eq!(
            ok("https://api.deepgram.com/").unwrap(),
            "https://api.deepgram.com"
        );
        assert_eq!(
            ok("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(ok("http://localhost:1").unwrap(), "http://localhost:1");
        assert_eq!(ok("http://[::1]:9").unwrap(), "http://[::1]:9");
        let err = ok("http://api.deepgram.com").unwrap_err().to_string();
        assert_eq!(
            err,
            "environment variable DOCKER_CREDENTIAL_DEEPGRAM_API_URL: http://api.deepgram.com uses plain http: only loopback hosts may; use https://"
        );
        assert!(ok("http://127.0.0.1.evil.example").is_err());
        assert!(ok("ftp://x").is_err());
    }
}
