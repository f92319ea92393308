//! Settings: built-in defaults, then `config.toml`, then environment variables.
//!
//! The config directory is `DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR` (an absolute path), else the
//! platform config dir (`~/.config/docker-credential-deepgram` on Linux). `config.toml` is
//! optional; an unknown key or a bad value is an error naming the file, the line and the key,
//! and a bad environment value is an error naming the variable. Every duration has a maximum.
//!
//! Trust: the directory and `config.toml` steer where secrets go and which URL gets the API
//! key, and the kubelet runs us as root, so before reading them we check (two metadata calls)
//! that they belong to us or root and that no one else can write them. A directory of ours
//! with loose modes is tightened to 0700, with one warning. Loading never touches the network.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::endpoint::ApiUrl;
use crate::env;

pub const CONFIG_FILE: &str = "config.toml";
pub const DEFAULT_API_URL: &str = "https://api.deepgram.com";
pub const DEFAULT_REGISTRIES: &[&str] = &["quay.io"];
pub const DEFAULT_SCOPES: &[&str] = &["self-hosted:product:api", "self-hosted:product:engine"];
/// The API rejects longer comments with 400.
pub const MAX_COMMENT_CHARS: usize = 128;

const HOUR: Duration = Duration::from_secs(3600);
/// The largest value each duration key accepts (documented in the README): beyond these a
/// value is a typo, and unbounded ones overflow `Instant` arithmetic.
pub const MAX_LOCK_TIMEOUT: Duration = HOUR;
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub const MAX_RETRY_BUDGET: Duration = Duration::from_secs(10 * 60);
/// A remembered failure older than a day tells nothing about the API now.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(24 * 3600);
pub const MAX_KUBELET_CACHE_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// `revalidate_after` and `rotate_after`: ten years is "never" spelled as a duration.
pub const MAX_LIFECYCLE_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// An hour: a credential deleted in the Console costs at most an hour of failed pulls, for one
/// small request per hour per install (500 nodes: 500 an hour, about 0.14 a second).
pub const DEFAULT_REVALIDATE_AFTER: Duration = HOUR;
/// How long a credential this install stops using stays live for its copies.
pub const DEFAULT_ROTATE_GRACE: Duration = Duration::from_secs(24 * 3600);
/// The longest grace: a retired credential kept longer is a leak with extra steps.
pub const MAX_ROTATE_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The OS keychain when reachable, else the 0600 file with a warning.
    Auto,
    /// The OS keychain or an error.
    Keyring,
    /// The 0600 file.
    File,
}

/// Which path the distribution-credential endpoints live under (shared/reference/deepgram-api.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiPath {
    /// `/v1/projects/{id}/self-hosted/distribution/credentials`
    SelfHosted,
    /// The legacy `/v1/projects/{id}/onprem/distribution/credentials`.
    Onprem,
}

impl ApiPath {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiPath::SelfHosted => "self-hosted",
            ApiPath::Onprem => "onprem",
        }
    }
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
    pub api_url: ApiUrl,
    pub project_id: Option<String>,
    pub scopes: Vec<String>,
    /// `None`: the default, naming the tool and host.
    pub comment: Option<String>,
    pub provision: Provision,
    pub lock_timeout: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry_budget: Duration,
    /// How long a failed create is remembered and answered without a request; zero: off.
    pub failure_backoff: Duration,
    pub kubelet_cache_duration: Duration,
    pub api_path: ApiPath,
    /// How long after its last check `get` asks the API whether a credential this install
    /// created still exists; `None`: never.
    pub revalidate_after: Option<Duration>,
    /// How old a credential this install created may get before `get` rotates it; `None`: never.
    pub rotate_after: Option<Duration>,
    /// How long a rotated or erased credential stays live before it is deleted; zero: a
    /// rotation deletes the old one at once.
    pub rotate_grace: Duration,
    /// The call log (`log_file`), if any.
    pub log_file: Option<PathBuf>,
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
    #[error("{path}: line {line}: {message}")]
    File {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: line {line}: key `{key}`: {message}")]
    FileKey {
        path: PathBuf,
        line: usize,
        key: &'static str,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
    /// The directory or `config.toml` could be changed by someone else: not trusted.
    #[error(transparent)]
    Untrusted(crate::files::TrustError),
}

/// One setting, declared once: its `config.toml` key, its environment variable, its default as
/// the README documents it, and how a value is applied. The file parser, the environment
/// parser and the tests that check `env::ALL` and the README's table all read this table.
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    /// The README's "default" cell, word for word.
    pub default: &'static str,
    apply: fn(&mut Config, &Raw) -> Result<(), ConfigError>,
}

/// Every setting, in the README's order.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "store",
        env: env::STORE,
        default: "`auto`",
        apply: |c, v| {
            c.store = parse_store(v.text()?, v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "registries",
        env: env::REGISTRIES,
        default: "`[\"quay.io\"]`",
        apply: |c, v| {
            c.registries = parse_registries(v.list()?.into_iter(), v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "api_url",
        env: env::API_URL,
        default: "`https://api.deepgram.com`",
        apply: |c, v| {
            c.api_url = parse_api_url(v.text()?, v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "project_id",
        env: env::DEEPGRAM_PROJECT_ID,
        default: "the key's only project",
        apply: |c, v| {
            c.project_id = Some(parse_nonempty(v.text()?.trim(), v.source)?);
            Ok(())
        },
    },
    Setting {
        key: "scopes",
        env: env::SCOPES,
        default: "`[\"self-hosted:product:api\", \"self-hosted:product:engine\"]`",
        apply: |c, v| {
            c.scopes = parse_scopes(v.list()?.into_iter(), v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "comment",
        env: env::COMMENT,
        default: "`docker-credential-deepgram on <host>`",
        apply: |c, v| {
            c.comment = Some(parse_comment(v.text()?, v.source)?);
            Ok(())
        },
    },
    Setting {
        key: "provision",
        env: env::PROVISION,
        default: "`auto`",
        apply: |c, v| {
            c.provision = parse_provision(v.text()?, v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "lock_timeout",
        env: env::LOCK_TIMEOUT,
        default: "`60s`",
        apply: |c, v| {
            c.lock_timeout = v.duration(MAX_LOCK_TIMEOUT)?;
            Ok(())
        },
    },
    Setting {
        key: "connect_timeout",
        env: env::CONNECT_TIMEOUT,
        default: "`5s`",
        apply: |c, v| {
            c.connect_timeout = v.duration(MAX_CONNECT_TIMEOUT)?;
            Ok(())
        },
    },
    Setting {
        key: "request_timeout",
        env: env::REQUEST_TIMEOUT,
        default: "`30s`",
        apply: |c, v| {
            c.request_timeout = v.duration(MAX_REQUEST_TIMEOUT)?;
            Ok(())
        },
    },
    Setting {
        key: "retry_budget",
        env: env::RETRY_BUDGET,
        default: "`30s`",
        apply: |c, v| {
            c.retry_budget = v.duration(MAX_RETRY_BUDGET)?;
            Ok(())
        },
    },
    Setting {
        key: "failure_backoff",
        env: env::FAILURE_BACKOFF,
        default: "`60s`",
        apply: |c, v| {
            c.failure_backoff = v.duration(MAX_FAILURE_BACKOFF)?;
            Ok(())
        },
    },
    Setting {
        key: "kubelet_cache_duration",
        env: env::KUBELET_CACHE_DURATION,
        default: "`12h`",
        apply: |c, v| {
            c.kubelet_cache_duration = v.duration(MAX_KUBELET_CACHE_DURATION)?;
            Ok(())
        },
    },
    Setting {
        key: "rotate_after",
        env: env::ROTATE_AFTER,
        default: "`never`",
        apply: |c, v| {
            c.rotate_after = v.duration_or_never()?;
            Ok(())
        },
    },
    Setting {
        key: "rotate_grace",
        env: env::ROTATE_GRACE,
        default: "`24h`",
        apply: |c, v| {
            c.rotate_grace = v.duration(MAX_ROTATE_GRACE)?;
            Ok(())
        },
    },
    Setting {
        key: "revalidate_after",
        env: env::REVALIDATE_AFTER,
        default: "`1h`",
        apply: |c, v| {
            c.revalidate_after = v.duration_or_never()?;
            Ok(())
        },
    },
    Setting {
        key: "api_path",
        env: env::API_PATH,
        default: "`self-hosted`",
        apply: |c, v| {
            c.api_path = parse_api_path(v.text()?, v.source)?;
            Ok(())
        },
    },
    Setting {
        key: "log_file",
        env: env::LOG_FILE,
        default: "none",
        apply: |c, v| {
            let path = PathBuf::from(parse_nonempty(v.text()?, v.source)?);
            c.log_file = Some(resolve_log_file(&c.dir, path));
            Ok(())
        },
    },
];

/// Where a value came from, so that an error names it.
#[derive(Clone, Copy)]
enum Source<'a> {
    File {
        path: &'a Path,
        line: usize,
        key: &'static str,
    },
    Env(&'static str),
}

impl Source<'_> {
    fn error(&self, message: String) -> ConfigError {
        match *self {
            Source::File { path, line, key } => ConfigError::FileKey {
                path: path.to_path_buf(),
                line,
                key,
                message,
            },
            Source::Env(name) => ConfigError::Env { name, message },
        }
    }
}

/// One value, from `config.toml` (typed) or an environment variable (text), with what an
/// error about it must name.
struct Raw<'a> {
    value: RawValue,
    source: Source<'a>,
}

enum RawValue {
    File(toml::Value),
    Env(String),
}

impl Raw<'_> {
    fn text(&self) -> Result<&str, ConfigError> {
        match &self.value {
            RawValue::Env(text) => Ok(text),
            RawValue::File(value) => value.as_str().ok_or_else(|| {
                self.source
                    .error(format!("expected a string, got {}", value.type_str()))
            }),
        }
    }

    /// A list: a TOML array of strings, or comma-separated text.
    fn list(&self) -> Result<Vec<&str>, ConfigError> {
        let value = match &self.value {
            RawValue::Env(text) => return Ok(text.split(',').collect()),
            RawValue::File(value) => value,
        };
        let wrong = || {
            self.source.error(format!(
                "expected a list of strings like [\"quay.io\"], got {}",
                value.type_str()
            ))
        };
        value
            .as_array()
            .ok_or_else(wrong)?
            .iter()
            .map(|item| item.as_str().ok_or_else(wrong))
            .collect()
    }

    fn duration(&self, max: Duration) -> Result<Duration, ConfigError> {
        let text = match &self.value {
            RawValue::Env(text) => text.clone(),
            RawValue::File(toml::Value::String(s)) => s.clone(),
            RawValue::File(toml::Value::Integer(n)) if *n >= 0 => n.to_string(),
            RawValue::File(other) => {
                return Err(self.source.error(format!(
                    "expected a duration like \"30s\", got {}",
                    other.type_str()
                )));
            }
        };
        parse_duration(&text, max, self.source)
    }

    /// A duration, or `"never"`.
    fn duration_or_never(&self) -> Result<Option<Duration>, ConfigError> {
        match &self.value {
            RawValue::Env(text) | RawValue::File(toml::Value::String(text)) => {
                parse_duration_or_never(text, self.source)
            }
            RawValue::File(_) => self.duration(MAX_LIFECYCLE_DURATION).map(Some),
        }
    }
}

/// toml says only "duplicate key": name the key and the line that first set it, so that the
/// error says which of the two to delete.
fn duplicate_key(text: &str, span: Range<usize>, line: usize) -> Option<String> {
    let key = text
        .get(span)?
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim()
        .trim_matches('"');
    if key.is_empty() || key.contains('\n') {
        return None;
    }
    let first = text.lines().take(line - 1).position(|earlier| {
        let earlier = earlier.trim_start();
        [key.to_string(), format!("\"{key}\""), format!("[{key}]")]
            .iter()
            .any(|spelled| {
                earlier.strip_prefix(spelled.as_str()).is_some_and(|rest| {
                    spelled.ends_with(']') || rest.trim_start().starts_with('=')
                })
            })
    })? + 1;
    Some(format!(
        "key `{key}` is set twice, on lines {first} and {line}: delete one of them"
    ))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Config {
    /// Loads from the environment's config directory.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(config_dir()?)
    }

    /// Checks that `dir` and its `config.toml` are trustworthy, loads the file (if present)
    /// and applies environment overrides.
    pub fn load_from(dir: PathBuf) -> Result<Config, ConfigError> {
        crate::files::check_private_dir(&dir).map_err(|err| match err {
            crate::files::TrustError::Io(source) => ConfigError::Read {
                path: dir.clone(),
                source,
            },
            err => ConfigError::Untrusted(err),
        })?;
        let path = dir.join(CONFIG_FILE);
        let text = match crate::files::read_trusted(&path) {
            // No file means the same as an empty one: all defaults.
            Ok(None) => String::new(),
            Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| ConfigError::File {
                path: path.clone(),
                line: 1,
                message: "not valid UTF-8".into(),
            })?,
            Err(crate::files::TrustError::Io(source)) => {
                return Err(ConfigError::Read { path, source });
            }
            Err(err) => return Err(ConfigError::Untrusted(err)),
        };
        let mut config = Config::from_toml(dir, &text)?;
        config.apply_env()?;
        Ok(config)
    }

    /// The defaults overridden by `text`, the contents of `dir/config.toml`; errors name that
    /// file, the line and the key. Reads no file and no environment variable (the fuzz target
    /// `config_toml` calls it); [`Config::load_from`] adds the trust checks and the environment.
    pub fn from_toml(dir: PathBuf, text: &str) -> Result<Config, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let mut config = Config::defaults(dir);
        config.apply_text(text, &path)?;
        Ok(config)
    }

    fn defaults(dir: PathBuf) -> Config {
        Config {
            dir,
            store: StoreChoice::Auto,
            registries: DEFAULT_REGISTRIES.iter().map(|r| r.to_string()).collect(),
            api_url: ApiUrl::parse(DEFAULT_API_URL).expect("the default API URL is valid"),
            project_id: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            comment: None,
            provision: Provision::Auto,
            lock_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry_budget: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(60),
            kubelet_cache_duration: Duration::from_secs(12 * 3600),
            api_path: ApiPath::SelfHosted,
            revalidate_after: Some(DEFAULT_REVALIDATE_AFTER),
            rotate_after: None,
            rotate_grace: DEFAULT_ROTATE_GRACE,
            log_file: None,
        }
    }

    /// Applies the text of `config.toml`; errors name `path`, the line and the key.
    fn apply_text(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let file: BTreeMap<String, Spanned<toml::Value>> = toml::from_str(text).map_err(|err| {
            let line = err.span().map_or(1, |span| line_of(text, span.start));
            let message = err.message().trim_end();
            let message = match err.span() {
                Some(span) if message.starts_with("duplicate key") => {
                    duplicate_key(text, span, line).unwrap_or_else(|| message.to_string())
                }
                _ => message.to_string(),
            };
            ConfigError::File {
                path: path.to_path_buf(),
                line,
                message,
            }
        })?;
        // An unknown key first (the first in the file), naming the keys there are.
        let unknown = file
            .iter()
            .filter(|(key, _)| !SETTINGS.iter().any(|s| s.key == key.as_str()))
            .min_by_key(|(_, value)| value.span().start);
        if let Some((key, value)) = unknown {
            let known: Vec<String> = SETTINGS.iter().map(|s| format!("`{}`", s.key)).collect();
            return Err(ConfigError::File {
                path: path.to_path_buf(),
                line: line_of(text, value.span().start),
                message: format!(
                    "unknown field `{key}`, expected one of {}",
                    known.join(", ")
                ),
            });
        }
        for setting in SETTINGS {
            let Some(spanned) = file.get(setting.key) else {
                continue;
            };
            let raw = Raw {
                value: RawValue::File(spanned.get_ref().clone()),
                source: Source::File {
                    path,
                    line: line_of(text, spanned.span().start),
                    key: setting.key,
                },
            };
            (setting.apply)(self, &raw)?;
        }
        Ok(())
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        for setting in SETTINGS {
            if let Some(text) = env::var(setting.env) {
                let raw = Raw {
                    value: RawValue::Env(text),
                    source: Source::Env(setting.env),
                };
                (setting.apply)(self, &raw)?;
            }
        }
        Ok(())
    }

    /// True when `key` (canonical) provisions Deepgram credentials.
    pub fn is_provisioning_registry(&self, key: &str) -> bool {
        self.registries.iter().any(|r| r == key)
    }

    /// The provisioning registries as `credHelpers` and `matchImages` key them: host[:port]
    /// (a path in a registry name cannot be configured there).
    pub fn registry_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for registry in &self.registries {
            let host = registry.split('/').next().unwrap_or(registry).to_string();
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        hosts
    }
}

/// `DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR` (absolute), else the platform config directory.
/// A relative `log_file` is inside the config dir, never the caller's working directory (which
/// is `/` for the kubelet and anything for docker).
pub fn resolve_log_file(dir: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        path
    } else {
        dir.join(path)
    }
}

pub fn config_dir() -> Result<PathBuf, ConfigError> {
    if let Some(dir) = env::var(env::CONFIG_DIR) {
        let dir = PathBuf::from(dir);
        if !dir.is_absolute() {
            return Err(ConfigError::Env {
                name: env::CONFIG_DIR,
                message: format!(
                    "{} is a relative path, which would change with the working directory: use an absolute path",
                    dir.display()
                ),
            });
        }
        return Ok(dir);
    }
    directories::ProjectDirs::from("", "", crate::NAME)
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(ConfigError::NoConfigDir)
}

fn parse_store(value: &str, source: Source) -> Result<StoreChoice, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(StoreChoice::Auto),
        "keyring" => Ok(StoreChoice::Keyring),
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

fn parse_duration(value: &str, max: Duration, source: Source) -> Result<Duration, ConfigError> {
    crate::duration::parse(value, max).map_err(|err| source.error(err.to_string()))
}

/// `never`, or a duration up to [`MAX_LIFECYCLE_DURATION`].
fn parse_duration_or_never(value: &str, source: Source) -> Result<Option<Duration>, ConfigError> {
    if value.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    crate::duration::parse(value, MAX_LIFECYCLE_DURATION)
        .map(Some)
        .map_err(|err| source.error(format!("{err} (or \"never\")")))
}

fn parse_api_path(value: &str, source: Source) -> Result<ApiPath, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "self-hosted" => Ok(ApiPath::SelfHosted),
        "onprem" => Ok(ApiPath::Onprem),
        other => Err(source.error(format!(
            "unknown api_path {other:?}: use self-hosted or onprem"
        ))),
    }
}

/// The one URL rule (`crate::endpoint`): https anywhere, plain http only to loopback, no
/// userinfo; the error names where the value came from.
fn parse_api_url(value: &str, source: Source) -> Result<ApiUrl, ConfigError> {
    ApiUrl::parse(value).map_err(|err| source.error(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let mut config = Config::defaults(PathBuf::from("/etc/dcd"));
        config.apply_text(toml, Path::new("/etc/dcd/config.toml"))?;
        Ok(config)
    }

    #[test]
    fn every_setting_has_its_environment_variable_in_env_all() {
        for setting in SETTINGS {
            assert!(env::ALL.contains(&setting.env), "{}", setting.key);
        }
        let keys: std::collections::BTreeSet<_> = SETTINGS.iter().map(|s| s.key).collect();
        assert_eq!(keys.len(), SETTINGS.len(), "a key declared twice");
    }

    #[test]
    fn the_readme_configuration_table_is_the_settings_table() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("| key | values | default | environment variable |")
            .nth(1)
            .expect("the README has the configuration table");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        let documented: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|row| (row[0], row[2], row[3].split(' ').next().unwrap()))
            .collect();
        let declared: Vec<(String, &str, String)> = SETTINGS
            .iter()
            .map(|s| (format!("`{}`", s.key), s.default, format!("`{}`", s.env)))
            .collect();
        let declared: Vec<(&str, &str, &str)> = declared
            .iter()
            .map(|(k, d, e)| (k.as_str(), *d, e.as_str()))
            .collect();
        assert_eq!(documented, declared);
    }

    #[test]
    fn the_documented_defaults_are_the_defaults() {
        let defaults = format!("{:?}", Config::defaults(PathBuf::from("/etc/dcd")));
        for setting in SETTINGS {
            // Only a value in backticks is one; `comment`'s names the host it is made from.
            let Some(value) = setting
                .default
                .strip_prefix('`')
                .and_then(|v| v.strip_suffix('`'))
                .filter(|_| setting.key != "comment")
            else {
                continue;
            };
            let text = value
                .trim_matches(['[', ']'])
                .split(", ")
                .map(|item| item.trim_matches('"'))
                .collect::<Vec<_>>()
                .join(",");
            let mut config = Config::defaults(PathBuf::from("/etc/dcd"));
            let raw = Raw {
                value: RawValue::Env(text),
                source: Source::Env(setting.env),
            };
            (setting.apply)(&mut config, &raw).unwrap();
            assert_eq!(format!("{config:?}"), defaults, "{}", setting.key);
        }
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
        let err = load("store = \"file\"\n\nstor = \"file\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/dcd/config.toml: line 3: unknown field `stor`"),
            "{err}"
        );
    }

    #[test]
    fn bad_value_names_the_key_and_the_fix() {
        let err = load("store = \"vault\"\n").unwrap_err().to_string();
        assert!(
            err.ends_with(
                "config.toml: line 1: key `store`: unknown store \"vault\": use auto, keyring or file"
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
    fn a_wrong_type_names_the_key_and_the_line_not_a_byte_offset() {
        let err = load("registries = \"quay.io\"\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/dcd/config.toml: line 1: key `registries`: expected a list of strings like [\"quay.io\"], got string"
        );
        let err = load("# comment\nstore = \"file\"\nscopes = [\"a\", 3]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/dcd/config.toml: line 3: key `scopes`: expected a list"),
            "{err}"
        );
        let err = load("store = \n").unwrap_err().to_string();
        assert!(err.starts_with("/etc/dcd/config.toml: line 1: "), "{err}");
        assert!(!err.contains("byte"), "{err}");
    }

    #[test]
    fn a_duplicate_key_names_the_key_and_both_lines() {
        let err = load("store = \"file\"\nprovision = \"auto\"\n\n  store = \"keyring\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "/etc/dcd/config.toml: line 4: key `store` is set twice, on lines 1 and 4: delete one of them"
        );
        let err = load("\"api_url\" = \"https://a.example\"\napi_url = \"https://b.example\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "line 2: key `api_url` is set twice, on lines 1 and 2: delete one of them"
            ),
            "{err}"
        );
    }

    #[test]
    fn lifecycle_keys_take_durations_or_never_and_api_path_two_values() {
        let defaults = load("").unwrap();
        assert_eq!(
            (
                defaults.api_path,
                defaults.revalidate_after,
                defaults.rotate_after
            ),
            (ApiPath::SelfHosted, Some(Duration::from_secs(3600)), None)
        );
        let config =
            load("api_path = \"onprem\"\nrevalidate_after = \"never\"\nrotate_after = \"90d\"\n")
                .unwrap();
        assert_eq!(config.api_path, ApiPath::Onprem);
        assert_eq!(config.revalidate_after, None);
        assert_eq!(config.rotate_after, Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(
            load("revalidate_after = 0\n").unwrap().revalidate_after,
            Some(Duration::ZERO)
        );
        let err = load("api_path = \"v2\"\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/dcd/config.toml: line 1: key `api_path`: unknown api_path \"v2\": use self-hosted or onprem"
        );
        let err = load("rotate_after = \"soon\"\n").unwrap_err().to_string();
        assert!(err.ends_with("(or \"never\")"), "{err}");
    }

    #[test]
    fn oversized_durations_are_refused_per_key() {
        let err = load("lock_timeout = \"10000000000000000000s\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "/etc/dcd/config.toml: line 1: key `lock_timeout`: \"10000000000000000000s\" is longer than the maximum 1h0m0s: use a value up to 1h0m0s"
        );
        for (key, max) in [
            ("lock_timeout", MAX_LOCK_TIMEOUT),
            ("connect_timeout", MAX_CONNECT_TIMEOUT),
            ("request_timeout", MAX_REQUEST_TIMEOUT),
            ("retry_budget", MAX_RETRY_BUDGET),
            ("kubelet_cache_duration", MAX_KUBELET_CACHE_DURATION),
        ] {
            let at_max = load(&format!("{key} = {}\n", max.as_secs())).unwrap();
            let _ = at_max;
            let err = load(&format!("{key} = {}\n", max.as_secs() + 1))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("key `{key}`: ")), "{err}");
            assert!(err.contains("longer than the maximum"), "{err}");
            let err = load(&format!("{key} = 9223372036854775807\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("longer than the maximum"), "{err}");
        }
    }

    #[test]
    fn undocumented_store_names_are_refused() {
        let err = load("store = \"keychain\"\n").unwrap_err().to_string();
        assert!(
            err.ends_with("unknown store \"keychain\": use auto, keyring or file"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_loose_directory_of_ours_is_tightened_and_others_writable_files_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("config");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        Config::load_from(dir.clone()).unwrap();
        assert_eq!(crate::files::mode_of(&dir), Some(0o700));

        let file = dir.join(CONFIG_FILE);
        std::fs::write(&file, "store = \"file\"\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = Config::load_from(dir.clone()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{} can be changed by other users (mode 0666): run `chmod go-w {}`",
                file.display(),
                file.display()
            )
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            Config::load_from(dir.clone()).unwrap().store,
            StoreChoice::File
        );

        let not_dir = root.path().join("plain");
        std::fs::write(&not_dir, "").unwrap();
        assert!(
            Config::load_from(not_dir)
                .unwrap_err()
                .to_string()
                .contains("is not a directory")
        );
    }

    #[cfg(unix)]
    #[test]
    fn another_users_directory_or_config_file_is_refused() {
        // Needs chown, so root: CI and test.sh run as root.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("config");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join(CONFIG_FILE);
        std::fs::write(&file, "").unwrap();
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        let err = Config::load_from(dir.clone()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{} belongs to another user (uid 65534)",
                file.display()
            )),
            "{err}"
        );
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        let err = Config::load_from(dir.clone()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{} belongs to another user (uid 65534): run as that user",
                dir.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn api_url_must_be_https_unless_loopback() {
        let ok = |u: &str| parse_api_url(u, Source::Env(env::API_URL)).map(|u| u.to_string());
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
        assert!(ok("http://127.evil.example.com").is_err());
        assert!(ok("http://127.0.0.1@evil.example").is_err());
        assert!(ok("http://127.a.b.c@[::1]:8080").is_err());
        assert!(ok("ftp://x").is_err());
    }
}
