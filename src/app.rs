//! Dispatch: which command runs, with what input, and how its result is shown.
//!
//! Protocol commands (`get`, `store`, `erase`, `list`, `version`) follow Docker's rules: exactly
//! one argument, the answer or the one-line error on stdout, exit 1 on error, diagnostics on
//! stderr. Human-facing commands (`login`, `logout`, `status`, `configure`, `export`,
//! `kubelet`) keep stdout for their output (and `--help`) and put errors on stderr.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use crate::cmd;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle;
use crate::protocol;
use crate::provision::{self, Outcome};
use crate::registry;
use crate::store::Store;
use crate::store::index::Index;

const NAME: &str = "docker-credential-deepgram";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const USAGE: &str = "Usage: docker-credential-deepgram <store|get|erase|list|version>";
const MORE_USAGE: &str = "\
Other commands:
  login        save a Deepgram API key (read from stdin, or prompted without echo);
               --project ID also saves the project to create credentials in
  logout       remove the saved Deepgram API key (--all: also erase stored credentials)
  status       show stored credentials, their Deepgram ids and unfinished creates (--json;
               --remote: also what the API key sees in the project)
  doctor       check the whole chain: PATH, client configs, keychain, API key, registry (--json)
  configure    register this helper with Docker and podman/skopeo/buildah (--help: options)
  export       print a Kubernetes pull secret for a provisioning registry (--help: options)
  kubelet      answer a kubelet CredentialProviderRequest on stdin
  revoke       delete the Deepgram credential of a registry, then the local copy (--yes)
  rotate       replace the Deepgram credential of a registry with a new one (--yes)
  prune        delete this install's orphaned Deepgram credentials (--dry-run, --yes)
See the README for configuration and environment variables.";

/// How a command's errors are shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Docker and friends: error line on stdout.
    Protocol,
    /// A person or the kubelet: error line on stderr.
    Human,
}

pub fn main() -> ExitCode {
    crate::hygiene::harden_process();
    crate::log::init_from_env();
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let mut stdout = io::stdout().lock();
    let started = std::time::Instant::now();
    let (audience, result) = run(&args, &mut io::stdin().lock(), &mut stdout);
    crate::calllog::record(&args, started, &result);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Help(text)) => {
            let _ = writeln!(stdout, "{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            report(audience, &err, &mut stdout);
            ExitCode::from(err.exit_code())
        }
    }
}

fn report(audience: Audience, err: &Error, stdout: &mut impl Write) {
    let line = err.line();
    if audience == Audience::Protocol {
        // Docker reads only stdout; a failed write here has nowhere else to go.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
    // For Docker the stderr copy is a diagnostic (the answer is on stdout), so it obeys
    // DOCKER_CREDENTIAL_DEEPGRAM_LOG=off; a person or the kubelet sees errors only on stderr.
    let not_found = matches!(err, Error::NotFound { .. });
    let diagnostics = crate::log::enabled(crate::log::Level::Warn);
    if audience == Audience::Human || (!not_found && diagnostics) {
        eprintln!("{NAME}: {line}");
    }
    if let Some(hint) = err.hint() {
        crate::log::hint(format_args!("{hint}"));
    }
}

fn run(
    args: &[String],
    stdin: &mut impl Read,
    stdout: &mut impl Write,
) -> (Audience, Result<(), Error>) {
    let Some(command) = args.first() else {
        return (Audience::Protocol, Err(usage_error()));
    };
    let mut protocol_command = |run: fn(&str, &mut dyn Write) -> Result<(), Error>| {
        if args.len() != 1 {
            return (Audience::Protocol, Err(usage_error()));
        }
        let result = protocol::read_input(&mut *stdin)
            .map_err(Error::from)
            .and_then(|input| run(&input, stdout));
        (Audience::Protocol, result)
    };
    match command.as_str() {
        "get" => protocol_command(get),
        "store" => protocol_command(store),
        "erase" => protocol_command(erase),
        // The reference helpers never read stdin for `list`: a client that keeps the pipe open
        // must not hang us, and whatever it sends is not ours to judge.
        "list" if args.len() == 1 => (Audience::Protocol, list(stdout)),
        "list" => (Audience::Protocol, Err(usage_error())),
        "version" | "--version" | "-v" if args.len() == 1 => (
            Audience::Protocol,
            writeln!(stdout, "{NAME} {VERSION}").map_err(Error::Output),
        ),
        "--help" | "-h" | "help" => (
            Audience::Human,
            writeln!(stdout, "{USAGE}\n{MORE_USAGE}").map_err(Error::Output),
        ),
        "login" => (
            Audience::Human,
            cmd::login::login(&args[1..], stdin, stdout),
        ),
        "logout" => (Audience::Human, cmd::login::logout(&args[1..], stdout)),
        "kubelet" => (
            Audience::Human,
            cmd::kubelet::run(&args[1..], stdin, stdout),
        ),
        "export" => (Audience::Human, cmd::export::run(&args[1..], stdout)),
        "configure" => (Audience::Human, cmd::configure::run(&args[1..], stdout)),
        "status" => (Audience::Human, cmd::status::run(&args[1..], stdout)),
        "revoke" => (Audience::Human, cmd::revoke::run(&args[1..], stdout)),
        "rotate" => (Audience::Human, cmd::rotate::run(&args[1..], stdout)),
        "prune" => (Audience::Human, cmd::prune::run(&args[1..], stdout)),
        "doctor" => (Audience::Human, cmd::doctor::run(&args[1..], stdout)),
        _ => (Audience::Protocol, Err(usage_error())),
    }
}

fn usage_error() -> Error {
    eprintln!("{MORE_USAGE}");
    Error::Usage(USAGE.to_string())
}

/// `get`: the stored credential, else a freshly provisioned one, else Docker's not-found.
fn get(input: &str, out: &mut dyn Write) -> Result<(), Error> {
    let server = protocol::parse_server(input)?;
    let key = registry::canonical(&server);
    crate::calllog::note_server(&key);
    crate::debug!("get {server:?} (key {key})");
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let outcome = match store.get(&key)? {
        Some(credential) => {
            crate::calllog::note_outcome("hit");
            lifecycle::stored(&config, &store, &key, credential)?
        }
        None => {
            let outcome = provision::fetch_or_create(&config, &store, &key)?;
            if matches!(outcome, Outcome::Credential(_)) {
                crate::calllog::note_outcome("created");
            }
            outcome
        }
    };
    let credential = match outcome {
        Outcome::Credential(credential) => credential,
        Outcome::NotProvisioned => return Err(Error::NotFound { hint: None }),
        Outcome::NoApiKey(hint) | Outcome::Unavailable(hint) => {
            return Err(Error::NotFound { hint: Some(hint) });
        }
    };
    protocol::write_get(out, &server, &credential.username, &credential.secret)
        .map_err(Error::Output)
}

/// `store`: what `docker login` and `podman login` hand us.
fn store(input: &str, _out: &mut dyn Write) -> Result<(), Error> {
    let credentials = protocol::parse_store(input)?;
    let key = registry::canonical(&credentials.server_url);
    crate::calllog::note_server(&key);
    crate::debug!("store {:?} (key {key})", credentials.server_url);
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let credential = crate::store::StoredCredential {
        username: credentials.username,
        secret: credentials.secret,
    };
    store.put(&key, &credentials.server_url, &credential, None)?;
    Ok(())
}

/// `erase`: local only (the remote credential stays; see the README). Nothing to erase is
/// success: `docker logout` warns and `skopeo logout` crashes on any erase error.
fn erase(input: &str, _out: &mut dyn Write) -> Result<(), Error> {
    let server = protocol::parse_server(input)?;
    let key = registry::canonical(&server);
    crate::calllog::note_server(&key);
    let config = Config::load()?;
    let store = Store::open(&config)?;
    let removed = store.erase(&key)?;
    crate::debug!(
        "erase {server:?} (key {key}): {}",
        if removed { "removed" } else { "nothing stored" }
    );
    Ok(())
}

/// `list`: from the non-secret index alone; no keychain access, no secret.
fn list(out: &mut dyn Write) -> Result<(), Error> {
    let config = Config::load()?;
    let mut index = Index::load(&config.dir)?;
    if index.needs_recovery() {
        // A killed `store` or `erase` left work half done: opening the store finishes or undoes
        // it, so that `list` shows what is really stored.
        drop(Store::open(&config)?);
        index = Index::load(&config.dir)?;
    }
    let entries = index
        .entries
        .into_values()
        .map(|entry| (entry.server_url, entry.username))
        .collect();
    protocol::write_list(out, &entries).map_err(Error::Output)
}
