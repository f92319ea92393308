//! `login` and `logout`: the Deepgram API key kept in the store.
//!
//! `login` reads the key from stdin when it is not a terminal, else prompts without echo,
//! checks it against the API (`GET /v1/projects`), and saves it in the same store as the
//! secrets, forgetting any remembered failure (`crate::outage`). It names the traps a new user
//! falls into: a key that sees several projects (the first pull would fail; `--project ID`
//! saves the choice in `config.toml`), and a `DEEPGRAM_API_KEY` in the environment, which wins
//! over the saved key. `logout --all` also erases every stored registry credential (local
//! copies). The key is never printed, logged, or written anywhere but the store.

use std::io::{self, IsTerminal, Read, Write};

use crate::cli::{LoginArgs, LogoutArgs};
use crate::config::Config;
use crate::deepgram::{Client, Project, Timeouts};
use crate::env;
use crate::error::{CommandKind, Error};
use crate::secret::Secret;
use crate::store::Store;

/// A key is 40 characters; anything near this is not a key.
const MAX_KEY_INPUT: u64 = 64 * 1024;
use crate::NAME as BINARY;

pub fn login(args: &LoginArgs, stdin: &mut impl Read, out: &mut impl Write) -> Result<(), Error> {
    let chosen = args
        .project
        .as_deref()
        .map(|id| id.trim().to_string())
        .map(|id| {
            if id.is_empty() {
                Err(Error::command(
                    CommandKind::Usage,
                    "login: --project needs a project id".into(),
                ))
            } else {
                Ok(id)
            }
        })
        .transpose()?;
    let key = read_api_key(stdin)?;
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let client = Client::new(
        &config.api_url,
        key.clone(),
        Timeouts {
            connect: config.connect_timeout,
            request: config.request_timeout,
        },
    )?;
    let projects = client.list_projects()?;
    if let Some(id) = &chosen
        && !projects.iter().any(|p| &p.project_id == id)
    {
        return Err(Error::command(
            CommandKind::Usage,
            format!(
                "login: the API key does not see project {id}; it sees {}: pass one of those to --project",
                describe(&projects)
            ),
        ));
    }
    store.set_api_key(&key)?;
    // A failure remembered with the old key must not hold back the new one.
    crate::outage::clear(&config);
    writeln!(
        out,
        "saved the Deepgram API key in the {} store; it sees {} project(s): {}",
        store.backend_kind().as_str(),
        projects.len(),
        describe(&projects)
    )
    .map_err(Error::Output)?;
    if let Some(id) = &chosen {
        let path = crate::config_toml_edit::set_string(&config.dir, "project_id", id)
            .map_err(|err| Error::command(CommandKind::Io, format!("login: {err}")))?;
        writeln!(
            out,
            "saved project_id = \"{id}\" in {}: credentials are created in that project",
            path.display()
        )
        .map_err(Error::Output)?;
        if env::var(env::DEEPGRAM_PROJECT_ID).is_some_and(|v| v.trim() != id) {
            crate::warn!(
                "{} is set in this environment and takes precedence over project_id: unset it to use {id}",
                env::DEEPGRAM_PROJECT_ID
            );
        }
    } else {
        warn_about_the_project(&config, &projects);
    }
    if env::var(env::DEEPGRAM_API_KEY).is_some() {
        crate::warn!(
            "{} is set in this environment and takes precedence over the saved key: unset it to use the key saved now",
            env::DEEPGRAM_API_KEY
        );
    }
    Ok(())
}

/// The first pull fails when the project cannot be chosen: say so now, with the fix.
fn warn_about_the_project(config: &Config, projects: &[Project]) {
    match (&config.project_id, projects.len()) {
        (Some(id), _) if !projects.iter().any(|p| &p.project_id == id) => crate::warn!(
            "the configured project {id} (project_id or {}) is not one this key sees: fix it, or run `{BINARY} login --project ID` with one of: {}",
            env::DEEPGRAM_PROJECT_ID,
            describe(projects)
        ),
        (Some(_), _) | (None, 1) => {}
        (None, 0) => crate::warn!(
            "the key sees no project, so no credential can be created: create a project in the Deepgram Console, or use another key"
        ),
        (None, _) => crate::warn!(
            "the key sees several projects, so the first pull cannot choose one: run `{BINARY} login --project ID` (saves project_id in config.toml) or set {}",
            env::DEEPGRAM_PROJECT_ID
        ),
    }
}

fn describe(projects: &[Project]) -> String {
    if projects.is_empty() {
        return "none".into();
    }
    projects
        .iter()
        .map(|p| format!("{} ({})", p.name, p.project_id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_api_key(stdin: &mut impl Read) -> Result<Secret, Error> {
    let key = if io::stdin().is_terminal() {
        rpassword::prompt_password("Deepgram API key: ").map_err(|err| {
            Error::command(
                CommandKind::Io,
                format!("cannot read the API key from the terminal: {err}"),
            )
        })?
    } else {
        let mut text = String::new();
        stdin
            .take(MAX_KEY_INPUT)
            .read_to_string(&mut text)
            .map_err(|err| {
                Error::command(
                    CommandKind::Io,
                    format!("cannot read the API key from stdin: {err}"),
                )
            })?;
        text
    };
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::command(
            CommandKind::Input,
            "no API key given: pipe one key on stdin or type it at the prompt".into(),
        ));
    }
    Ok(Secret::new(key))
}

/// `logout`: forgets the saved API key everywhere `get` reads it (the keychain and the 0600
/// file an earlier fallback left), and says where it was; with `--all`, also erases every
/// stored registry credential (the local copies: the Deepgram credentials stay in the project).
pub fn logout(args: &LogoutArgs, out: &mut impl Write) -> Result<(), Error> {
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let places = store.remove_api_key()?;
    let message = if places.is_empty() {
        "no saved Deepgram API key".to_string()
    } else {
        format!(
            "removed the saved Deepgram API key from {}",
            places.join(" and from ")
        )
    };
    writeln!(out, "{message}").map_err(Error::Output)?;
    if args.all {
        for (key, entry) in store.index()?.entries {
            store.erase(&key)?;
            let remote = match &entry.provisioned {
                Some(meta) => format!(
                    "; Deepgram credential {} still exists in project {}: delete it in the Console if it is no longer used",
                    meta.id, meta.project_id
                ),
                None => String::new(),
            };
            writeln!(
                out,
                "erased the stored credential for {key} ({}){remote}",
                entry.username
            )
            .map_err(Error::Output)?;
        }
    }
    if env::var(env::DEEPGRAM_API_KEY).is_some() {
        crate::warn!(
            "{} is still set in this environment, and the helper keeps using it: unset it too",
            env::DEEPGRAM_API_KEY
        );
    }
    Ok(())
}
