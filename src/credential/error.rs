//! What can go wrong on the credential path, one typed error for every operation of
//! `credential` (create, check, rotate, retire, revoke, prune, the remote view), each message
//! saying what happened and what to do, with any extra help in [`CredentialError::hint`].

use crate::deepgram::{ApiError, Project};
use crate::env;
use crate::lock::LockError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "no Deepgram API key: set {} or run `docker-credential-deepgram login`",
        env::DEEPGRAM_API_KEY
    )]
    NoApiKey,
    #[error(
        "the Deepgram API key sees no project: create one in the Deepgram Console or set DEEPGRAM_PROJECT_ID"
    )]
    NoProject,
    #[error(
        "the Deepgram API key sees {} projects ({}): run `docker-credential-deepgram login --project ID` with one of them, or set DEEPGRAM_PROJECT_ID",
        .0.len(), list_projects(.0)
    )]
    ManyProjects(Vec<Project>),
    #[error("cannot create a Deepgram distribution credential: {0}")]
    Create(Box<ApiError>),
    #[error(
        "creating a Deepgram distribution credential may have succeeded without an answer: {error}. Look in the Deepgram Console (project {project_id}, Self-Hosted > Distribution Credentials) for the comment \"{comment}\" and delete it if present (`docker-credential-deepgram prune` does), or the next pull creates a new one"
    )]
    Ambiguous {
        error: Box<ApiError>,
        project_id: String,
        comment: String,
    },
    #[error(
        "created Deepgram credential {id} (username {username}) but could not store its secret ({source}); the secret is lost: delete credential {id} in the Deepgram Console, fix the store, and pull again"
    )]
    StoreAfterCreate {
        id: String,
        username: String,
        source: StoreError,
    },
    /// A failure from the last `failure_backoff`, answered again without a request.
    #[error("{message}")]
    Remembered { message: String, note: String },
    #[error("nothing is stored for {key}: there is no credential to act on")]
    NothingStored { key: String },
    #[error(
        "the credential stored for {key} was not created by docker-credential-deepgram (it came from `docker login` or an older version), so it has no Deepgram id: delete it in the Console if it is one; `docker logout {key}` erases the local copy"
    )]
    NotOurs { key: String },
    #[error(
        "the credential stored for {key} was created through {api_url}, not the configured api_url {configured}: set api_url back to act on it"
    )]
    OtherApi {
        key: String,
        api_url: String,
        configured: String,
    },
    #[error(
        "could not delete Deepgram credential {id} for {key}: {source}; the local copy is kept"
    )]
    DeleteFailed {
        id: String,
        key: String,
        source: Box<ApiError>,
    },
    #[error(
        "the credential for {key} changed from {confirmed} to {now} since you confirmed (another process rotated or replaced it); nothing was deleted: run the command again"
    )]
    Changed {
        key: String,
        confirmed: String,
        now: String,
    },
    #[error(transparent)]
    Api(Box<ApiError>),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list_projects(projects: &[Project]) -> String {
    projects
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                crate::sanitize::terminal_safe(&p.name),
                p.project_id
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<ApiError> for CredentialError {
    fn from(err: ApiError) -> Self {
        CredentialError::Api(Box::new(err))
    }
}

impl CredentialError {
    /// The API's own error, wherever it sits.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            CredentialError::Create(err)
            | CredentialError::Api(err)
            | CredentialError::Ambiguous { error: err, .. }
            | CredentialError::DeleteFailed { source: err, .. } => Some(err),
            _ => None,
        }
    }

    /// Extra help for stderr.
    pub fn hint(&self) -> Option<String> {
        match self {
            CredentialError::Remembered { note, .. } => Some(note.clone()),
            _ => match self.api_error() {
                Some(ApiError::InvalidKey { .. }) => Some(format!(
                    "the key comes from {} if set, else from `docker-credential-deepgram login`",
                    env::DEEPGRAM_API_KEY
                )),
                Some(ApiError::Forbidden { .. }) => Some(
                    "create a key with the Member role or above and the self-hosted product scopes in the Deepgram Console"
                        .into(),
                ),
                _ => None,
            },
        }
    }

    /// One word for the call log.
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialError::NoApiKey => "no-api-key",
            CredentialError::NoProject | CredentialError::ManyProjects(_) => "project",
            CredentialError::Ambiguous { .. } => "ambiguous",
            CredentialError::StoreAfterCreate { .. } => "lost-secret",
            CredentialError::Remembered { .. } => "remembered",
            CredentialError::NothingStored { .. }
            | CredentialError::NotOurs { .. }
            | CredentialError::OtherApi { .. } => "not-ours",
            CredentialError::Changed { .. } => "changed",
            CredentialError::Create(_)
            | CredentialError::DeleteFailed { .. }
            | CredentialError::Api(_) => "api",
            CredentialError::Lock(_) => "lock",
            CredentialError::Store(_) => "store",
        }
    }
}
