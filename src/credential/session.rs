//! The per-run session on the credential path, and the lock guard that proves the
//! provisioning lock is held.
//!
//! A [`Session`] is built once per run (`app`, or a command): the configuration, the store, the
//! API key read at most once, and the API clients built lazily, each at most once, with the
//! timeouts of their use ([`Purpose`]). A cache-hit `get` never asks for a client, so it builds
//! none. [`Session::lock`] is the only place in `src/` that takes the cross-process
//! provisioning lock; what it returns, [`Locked`], is the only way to reach the functions that
//! create, replace, rotate, retire or delete credentials, so "the caller holds the lock" is
//! checked by the compiler, not stated by a name. Never logs or prints the API key.

use std::cell::OnceCell;
use std::ops::Deref;
use std::time::Duration;

use crate::config::Config;
use crate::deepgram::{ApiError, Client, Timeouts};
use crate::env;
use crate::lock::{FileLock, LockError};
use crate::secret::Secret;
use crate::store::{Store, StoreError};

use super::CredentialError;

/// Held while one process creates, replaces, rotates, retires or deletes credentials of this
/// install; every other process that wants to do any of these waits for it.
pub const PROVISION_LOCK: &str = "provision.lock";

/// A check never holds a pull longer than this, whatever `connect_timeout` and
/// `request_timeout` say.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(2);

/// What an API client is for, which decides its timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Creates, deletes and the commands a person runs: the configured timeouts.
    Act,
    /// `get`'s due check: the configured timeouts, held to [`CHECK_TIME_LIMIT`].
    Check,
}

/// Configuration, store, API key and clients for one run.
pub struct Session {
    pub config: Config,
    pub store: Store,
    api_key: OnceCell<Option<Secret>>,
    act_client: OnceCell<Client>,
    check_client: OnceCell<Client>,
}

impl Session {
    /// Loads the configuration and opens the store it names.
    pub fn open() -> Result<Session, crate::error::Error> {
        let config = Config::load()?;
        let store = Store::open(&config)?;
        Ok(Session::new(config, store))
    }

    pub fn new(config: Config, store: Store) -> Session {
        Session {
            config,
            store,
            api_key: OnceCell::new(),
            act_client: OnceCell::new(),
            check_client: OnceCell::new(),
        }
    }

    /// `DEEPGRAM_API_KEY`, else the key saved by `login`; read once per run.
    pub fn api_key(&self) -> Result<Option<&Secret>, StoreError> {
        if let Some(key) = self.api_key.get() {
            return Ok(key.as_ref());
        }
        let key = read_api_key(&self.store)?;
        Ok(self.api_key.get_or_init(|| key).as_ref())
    }

    /// The API client for `purpose`, built on first use; an API key is required.
    pub fn client(&self, purpose: Purpose) -> Result<&Client, CredentialError> {
        let cell = match purpose {
            Purpose::Act => &self.act_client,
            Purpose::Check => &self.check_client,
        };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let api_key = self.api_key()?.ok_or(CredentialError::NoApiKey)?.clone();
        let client = build_client(&self.config, api_key, self.timeouts(purpose))
            .map_err(CredentialError::from)?;
        Ok(cell.get_or_init(|| client))
    }

    /// The timeouts a client for `purpose` uses.
    pub fn timeouts(&self, purpose: Purpose) -> Timeouts {
        let configured = Timeouts {
            connect: self.config.connect_timeout,
            request: self.config.request_timeout,
        };
        match purpose {
            Purpose::Act => configured,
            Purpose::Check => Timeouts {
                connect: configured.connect.min(CHECK_TIME_LIMIT),
                request: configured.request.min(CHECK_TIME_LIMIT),
            },
        }
    }

    /// A hash of every setting a remembered failure may have depended on (`crate::outage`):
    /// not a secret, the API key is one of a dozen inputs of a 64-bit hash that only that
    /// comparison reads.
    pub fn reach_fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        let config = &self.config;
        let mut hasher = std::hash::DefaultHasher::new();
        config.api_url.as_str().hash(&mut hasher);
        config.api_path.as_str().hash(&mut hasher);
        config.project_id.hash(&mut hasher);
        match self.api_key() {
            Ok(Some(key)) => key.expose().hash(&mut hasher),
            _ => "no key".hash(&mut hasher),
        }
        for name in REACH_VARIABLES {
            (name, std::env::var_os(name)).hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }

    /// Takes the provisioning lock (waiting up to `lock_timeout`); `what` finishes the
    /// sentence "another process that is …" if the wait times out.
    pub fn lock(&self, what: &str) -> Result<Locked<'_>, LockError> {
        let file = FileLock::acquire(
            &self.config.dir.join(PROVISION_LOCK),
            self.config.lock_timeout,
            what,
        )?;
        Ok(Locked {
            session: self,
            _file: file,
        })
    }
}

/// Environment variables that decide how the API is reached.
const REACH_VARIABLES: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Proof that this process holds the provisioning lock; only [`Session::lock`] makes one.
/// Dereferences to the session.
pub struct Locked<'s> {
    session: &'s Session,
    _file: FileLock,
}

impl Deref for Locked<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        self.session
    }
}

/// `DEEPGRAM_API_KEY`, else the key saved by `login` (for readers without a session: `doctor`,
/// `status`).
pub fn read_api_key(store: &Store) -> Result<Option<Secret>, StoreError> {
    if let Some(key) = env::var(env::DEEPGRAM_API_KEY) {
        crate::debug!("API key from {}", env::DEEPGRAM_API_KEY);
        return Ok(Some(Secret::new(key.trim())));
    }
    let saved = store.api_key()?;
    if saved.is_some() {
        crate::debug!("API key from the {} store", store.backend_kind().as_str());
    }
    Ok(saved)
}

/// The API client for `config`: its `api_url`, `api_path` and the shared agent rules.
pub fn build_client(
    config: &Config,
    api_key: Secret,
    timeouts: Timeouts,
) -> Result<Client, ApiError> {
    Ok(Client::new(&config.api_url, api_key, timeouts)?.with_api_path(config.api_path))
}
