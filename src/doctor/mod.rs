//! `doctor`: every check of the chain from a client to the registry, as plain data.
//!
//! Each group of checks (one module each) returns [`Check`] values; [`render`] prints them as
//! lines or one JSON object. Promises: no check prints, stores or returns a secret or an API
//! key (details name files, ids, usernames and what a server said); `--offline` makes no
//! network request at all; network checks use the configured connect and request timeouts;
//! nothing is created, changed or deleted, locally or remotely, except the keychain's own
//! probe item, which is removed again (opening the store finishes what a killed command left,
//! as it does for every command).

pub mod binary;
pub mod clients;
pub mod kubelet;
pub mod online;
pub mod render;
pub mod store;

use std::path::PathBuf;

use crate::client_config::Held;
use crate::config::Config;
use crate::store::{Store, StoredCredential};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's result: what was found, and for `warn`/`fail` what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, detail, None)
    }

    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Skip, detail, None)
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Status::Warn, detail, Some(fix.into()))
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Status::Fail, detail, Some(fix.into()))
    }

    fn new(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub offline: bool,
    /// Only this registry's credential checks.
    pub registry: Option<String>,
    /// The kubelet's provider config to inspect.
    pub kubelet_config: Option<PathBuf>,
}

/// Looks up a variable the way the clients do (empty means unset).
pub type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// The environment the checks look at: the variables the clients read, the home directory.
pub struct Context {
    pub var: Lookup,
    pub home: PathBuf,
}

impl Context {
    /// The process's own environment.
    pub fn from_env() -> Context {
        let home = crate::env::var(crate::env::clients::HOME).unwrap_or_default();
        Context {
            var: Box::new(crate::env::var),
            home: PathBuf::from(home),
        }
    }
}

/// Runs every check, in the order a pull meets them.
pub fn run(options: &Options, context: &Context) -> Vec<Check> {
    let mut checks = binary::checks(context);
    let config = Config::load();
    let registries: Vec<String> = match (&config, &options.registry) {
        (_, Some(registry)) => vec![crate::registry::canonical(registry)],
        (Ok(config), None) => config.registries.clone(),
        (Err(_), None) => crate::config::DEFAULT_REGISTRIES
            .iter()
            .map(|r| r.to_string())
            .collect(),
    };
    // What the store holds decides the fix for a plaintext login; opened only if one exists.
    let opened = std::cell::OnceCell::new();
    let holds = |registry: &str, username: &str, secret: &crate::secret::Secret| {
        let store = opened
            .get_or_init(|| config.as_ref().ok().and_then(|c| Store::open(c).ok()))
            .as_ref()?;
        let theirs = StoredCredential {
            username: username.to_string(),
            secret: secret.clone(),
        };
        Some(match store.get(registry).ok()? {
            None => Held::Nothing,
            Some(ours) if ours == theirs => Held::Same,
            Some(ours) => Held::Other {
                username: ours.username,
            },
        })
    };
    checks.extend(clients::checks(context, &registries, &holds));
    checks.push(kubelet::check(options, &registries));
    match config {
        Ok(config) => {
            checks.push(store::config_check(&config));
            let (mut store_checks, store) = store::checks(&config);
            checks.append(&mut store_checks);
            match store {
                Some(store) => {
                    checks.extend(online::checks(options, &config, &store, &registries));
                    checks.extend(store::housekeeping(&config, &store));
                }
                None => checks.push(Check::skip(
                    "credentials",
                    "the store did not open: see the store check",
                )),
            }
            checks.push(store::call_log(&config));
        }
        Err(err) => {
            checks.push(Check::fail(
                "config",
                err.to_string(),
                "fix the named file or variable; every other check needs the configuration",
            ));
        }
    }
    checks
}
