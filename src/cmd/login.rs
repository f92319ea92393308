//! `login` and `logout`: the Deepgram API key kept in the store.
//!
//! `login` reads the key from stdin when it is not a terminal, else prompts without echo,
//! checks it against the API (`GET /v1/projects`), and saves it in the same store as the
//! secrets, forgetting any remembered failure (`crate::outage`). The key is never printed,
//! logged, or written anywhere but the store.

use std::io::{self, IsTerminal, Read, Write};

use super::Options;
use crate::config::Config;
use crate::deepgram::{Client, Timeouts};
use crate::error::Error;
use crate::secret::Secret;
use crate::store::Store;

/// A key is 40 characters; anything near this is not a key.
const MAX_KEY_INPUT: u64 = 64 * 1024;

pub fn login(args: &[String], stdin: &mut impl Read, out: &mut impl Write) -> Result<(), Error> {
    Options::parse("login", args, &[], &[])?;
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
    store.set_api_key(&key)?;
    // A failure remembered with the old key must not hold back the new one.
    crate::outage::clear(&config);
    let names: Vec<String> = projects
        .iter()
        .map(|p| format!("{} ({})", p.name, p.project_id))
        .collect();
    writeln!(
        out,
        "saved the Deepgram API key in the {} store; it sees {} project(s): {}",
        store.backend_kind().as_str(),
        projects.len(),
        names.join(", ")
    )
    .map_err(Error::Output)
}

fn read_api_key(stdin: &mut impl Read) -> Result<Secret, Error> {
    let key = if io::stdin().is_terminal() {
        rpassword::prompt_password("Deepgram API key: ").map_err(|err| {
            Error::Command(format!("cannot read the API key from the terminal: {err}"))
        })?
    } else {
        let mut text = String::new();
        stdin
            .take(MAX_KEY_INPUT)
            .read_to_string(&mut text)
            .map_err(|err| Error::Command(format!("cannot read the API key from stdin: {err}")))?;
        text
    };
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::Command(
            "no API key given: pipe one key on stdin or type it at the prompt".into(),
        ));
    }
    Ok(Secret::new(key))
}

/// `logout`: forgets the saved API key (stored registry credentials stay).
pub fn logout(args: &[String], out: &mut impl Write) -> Result<(), Error> {
    Options::parse("logout", args, &[], &[])?;
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let message = if store.remove_api_key()? {
        "removed the saved Deepgram API key"
    } else {
        "no saved Deepgram API key"
    };
    writeln!(out, "{message}").map_err(Error::Output)
}
