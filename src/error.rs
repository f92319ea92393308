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
    /// A human-facing command failed; the message says what to do.
    #[error("{0}")]
    Command(String),
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
