//! The one top-level error: every module's error, and how each is shown.
//!
//! Protocol commands (`get`, `store`, `erase`, `list`) put one line on stdout, because that is
//! the only place docker and skopeo look, and exit 1; the same line plus any hint goes to
//! stderr for the person at the terminal. "Nothing stored and nothing to provision" is
//! Docker's exact not-found sentinel and nothing else.

use crate::config::ConfigError;
use crate::credential::CredentialError;
use crate::protocol::{NOT_FOUND, ProtocolError};
use crate::store::{PutError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Docker's not-found: anonymous pull follows. `hint` goes to stderr only.
    #[error("{NOT_FOUND}")]
    NotFound { hint: Option<String> },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Put(#[from] PutError),
    #[error(transparent)]
    Credential(Box<CredentialError>),
    /// A human command's failure on the credential path, kept typed so that its hint and its
    /// kind (for the call log) survive.
    #[error("{command}: {source}")]
    Failed {
        command: &'static str,
        source: Box<CredentialError>,
    },
    #[error(transparent)]
    Api(Box<crate::deepgram::ApiError>),
    /// A human-facing command failed; the message says what to do, the kind what went wrong
    /// (for the call log).
    #[error("{message}")]
    Command { kind: CommandKind, message: String },
    /// `--help` of a human-facing command: not a failure; the text goes to stdout.
    #[error("{0}")]
    Help(String),
    /// A human-facing command's arguments did not parse: clap's text (the error, a suggestion
    /// where there is one, the usage), shown on stderr as it is.
    #[error("{0}")]
    Cli(String),
    #[error("cannot write the answer: {0}")]
    Output(std::io::Error),
}

/// What kind of failure a human command met, one word each in the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Options that do not fit together, or a value out of range.
    Usage,
    /// A refusal that protects the user (no confirmation, a secret to a terminal, a file that
    /// is not ours to replace).
    Refused,
    /// Input that could not be read, or did not parse.
    Input,
    /// Reading or writing a file, or the terminal.
    Io,
    /// The environment lacks something (HOME, this binary's path).
    Environment,
    /// Docker's or podman's config files.
    ClientConfig,
    /// Nothing stored and nothing to provision.
    NotProvisioned,
    /// No API key where one is needed.
    NoApiKey,
    /// The Deepgram API.
    Api,
    /// The secret store.
    Store,
    /// Some of several operations failed (listed above the error).
    Partial,
    /// doctor found failing checks.
    Checks,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Usage => "usage",
            CommandKind::Refused => "refused",
            CommandKind::Input => "input",
            CommandKind::Io => "io",
            CommandKind::Environment => "environment",
            CommandKind::ClientConfig => "client-config",
            CommandKind::NotProvisioned => "not-provisioned",
            CommandKind::NoApiKey => "no-api-key",
            CommandKind::Api => "api",
            CommandKind::Store => "store",
            CommandKind::Partial => "partial",
            CommandKind::Checks => "checks",
        }
    }
}

impl From<CredentialError> for Error {
    fn from(err: CredentialError) -> Self {
        Error::Credential(Box::new(err))
    }
}

impl From<crate::deepgram::ApiError> for Error {
    fn from(err: crate::deepgram::ApiError) -> Self {
        Error::Api(Box::new(err))
    }
}

impl Error {
    /// The line for stdout (protocol commands) and the first line on stderr.
    pub fn line(&self) -> String {
        // One line, whatever a cause contained.
        self.to_string().replace(['\n', '\r'], " ")
    }

    /// Extra help for stderr only.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound { hint } => hint.clone(),
            Error::Credential(err) | Error::Failed { source: err, .. } => err.hint(),
            _ => None,
        }
    }

    /// A human command's failure of `kind`.
    pub fn command(kind: CommandKind, message: String) -> Error {
        Error::Command { kind, message }
    }

    /// `command`'s failure on the credential path, typed.
    pub fn failed(command: &'static str) -> impl Fn(CredentialError) -> Error {
        move |source| Error::Failed {
            command,
            source: Box::new(source),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            // clap's convention (and most tools'): 2 for a command line that does not parse.
            Error::Cli(_) => 2,
            _ => 1,
        }
    }
}
