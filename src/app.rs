//! Dispatch: which command runs, with what input, and how its result is shown.
//!
//! Protocol commands (`get`, `store`, `erase`, `list`, `version`) follow Docker's rules: exactly
//! one argument, the answer or the one-line error on stdout, exit 1 on error, diagnostics on
//! stderr. Human-facing commands (`login`, `logout`, `status`, `configure`, `export`,
//! `kubelet`, `completions`) are parsed by clap (`cli`), keep stdout for their output (and
//! `--help`) and put errors on stderr; a usage error there exits 2 with clap's message.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use crate::calllog::Call;
use crate::cli::{self, Cli, Command, NAME};
use crate::cmd;
use crate::config::Config;
use crate::credential::{self, Outcome, Session};
use crate::error::Error;
use crate::protocol;
use crate::registry;
use crate::store::Store;
use crate::store::index::Index;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const USAGE: &str = "Usage: docker-credential-deepgram <store|get|erase|list|version>";

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
    let mut call = Call::default();
    // Stdin is not locked for the whole run: a confirmation prompt reads it too.
    let (audience, result) = run(&args, &mut io::stdin(), &mut stdout, &mut call);
    crate::calllog::record(&args, started, &call, &result);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Help(text)) => {
            let _ = write!(stdout, "{text}");
            ExitCode::SUCCESS
        }
        Err(err @ Error::Cli(_)) => {
            // clap's own text: the error, a suggestion where there is one, the usage.
            eprint!("{err}");
            ExitCode::from(err.exit_code())
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

/// The protocol commands are answered here, before clap: `get` is on every pull's path, and
/// Docker expects their usage errors on stdout. Everything else goes through [`cli`].
fn run(
    args: &[String],
    stdin: &mut impl Read,
    stdout: &mut impl Write,
    call: &mut Call,
) -> (Audience, Result<(), Error>) {
    let Some(command) = args.first() else {
        return (Audience::Protocol, Err(usage_error(None)));
    };
    // `get --help`: a person asking (Docker never passes a flag), answered as `help get`.
    if let [_, flag] = args
        && matches!(flag.as_str(), "--help" | "-h")
        && matches!(
            command.as_str(),
            "get" | "store" | "erase" | "list" | "version"
        )
    {
        return human(&["help".into(), command.clone()], stdin, stdout, call);
    }
    type Protocol = fn(&str, &mut dyn Write, &mut Call) -> Result<(), Error>;
    let mut protocol_command = |run: Protocol, call: &mut Call| {
        if args.len() != 1 {
            return (Audience::Protocol, Err(usage_error(None)));
        }
        let result = protocol::read_input(&mut *stdin)
            .map_err(Error::from)
            .and_then(|input| run(&input, stdout, call));
        (Audience::Protocol, result)
    };
    match command.as_str() {
        "get" => protocol_command(get, call),
        "store" => protocol_command(store, call),
        "erase" => protocol_command(erase, call),
        // The reference helpers never read stdin for `list`: a client that keeps the pipe open
        // must not hang us, and whatever it sends is not ours to judge.
        "list" if args.len() == 1 => (Audience::Protocol, list(stdout)),
        "version" | "--version" | "-v" if args.len() == 1 => (
            Audience::Protocol,
            writeln!(stdout, "{NAME} {VERSION}").map_err(Error::Output),
        ),
        "list" | "version" | "--version" | "-v" => (Audience::Protocol, Err(usage_error(None))),
        _ => human(args, stdin, stdout, call),
    }
}

/// Everything but the protocol commands: parsed by clap, errors on stderr.
fn human(
    args: &[String],
    stdin: &mut impl Read,
    stdout: &mut impl Write,
    call: &mut Call,
) -> (Audience, Result<(), Error>) {
    use clap::Parser;
    use clap::error::ErrorKind;
    let cli =
        match Cli::try_parse_from(std::iter::once(NAME).chain(args.iter().map(String::as_str))) {
            Ok(cli) => cli,
            Err(err) => {
                let text = err.render().to_string();
                return match err.kind() {
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                        (Audience::Human, Err(Error::Help(text)))
                    }
                    // Not a command at all: for Docker, the protocol's usage error on stdout; for a
                    // person, clap's suggestion ("a similar subcommand exists") and the commands.
                    _ if !cli::is_command(&args[0]) => {
                        let reason = text.split("\n\nUsage:").next().unwrap_or(&text);
                        (Audience::Protocol, Err(usage_error(Some(reason))))
                    }
                    _ => (Audience::Human, Err(Error::Cli(text))),
                };
            }
        };
    let result = match cli.command {
        Command::Login(args) => cmd::login::login(&args, stdin, stdout),
        Command::Logout(args) => cmd::login::logout(&args, stdout),
        Command::Status(args) => cmd::status::run(&args, stdout),
        Command::Doctor(args) => cmd::doctor::run(&args, stdout),
        Command::Revoke(args) => cmd::revoke::run(&args, stdout),
        Command::Rotate(args) => cmd::rotate::run(&args, stdout),
        Command::Prune(args) => cmd::prune::run(&args, stdout),
        Command::Configure(args) => cmd::configure::run(&args, stdout),
        Command::Export(args) => cmd::export::run(&args, stdout, call),
        Command::Kubelet => cmd::kubelet::run(stdin, stdout, call),
        Command::Completions(args) => stdout
            .write_all(&cli::completion(args.shell))
            .map_err(Error::Output),
        // Answered in `run` before clap; never reached.
        Command::Get | Command::Store | Command::Erase | Command::List | Command::Version => {
            return (Audience::Protocol, Err(usage_error(None)));
        }
    };
    (Audience::Human, result)
}

/// The protocol's usage line (for stdout); stderr gets `reason` and the list of commands.
fn usage_error(reason: Option<&str>) -> Error {
    if let Some(reason) = reason {
        eprintln!("{}\n", reason.trim_end());
    }
    eprintln!("{}", cli::command_list());
    Error::Usage(USAGE.to_string())
}

/// `get`: the stored credential, else a freshly provisioned one, else Docker's not-found.
fn get(input: &str, out: &mut dyn Write, call: &mut Call) -> Result<(), Error> {
    let server = protocol::parse_server(input)?;
    let key = registry::canonical(&server);
    call.server = Some(key.clone());
    crate::debug!("get {server:?} (key {key})");
    let session = Session::open()?;
    let answer = match credential::serve(&session, &key)? {
        Outcome::Served(answer) => answer,
        Outcome::NotProvisioned => return Err(Error::NotFound { hint: None }),
        Outcome::NoApiKey(hint) | Outcome::Unavailable(hint) => {
            return Err(Error::NotFound { hint: Some(hint) });
        }
    };
    call.outcome = Some(answer.how.as_str());
    let credential = &answer.credential;
    protocol::write_get(out, &server, &credential.username, &credential.secret)
        .map_err(Error::Output)
}

/// `store`: what `docker login` and `podman login` hand us.
fn store(input: &str, _out: &mut dyn Write, call: &mut Call) -> Result<(), Error> {
    let credentials = protocol::parse_store(input)?;
    let key = registry::canonical(&credentials.server_url);
    call.server = Some(key.clone());
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

/// `erase`: local only and fast. A credential this install created stays live remotely for
/// `rotate_grace` (its copies may still be in use), recorded as retiring; a due `get` or
/// `prune` deletes it afterwards (see the README). Nothing to erase is success: `docker
/// logout` warns and `skopeo logout` crashes on any erase error.
fn erase(input: &str, _out: &mut dyn Write, call: &mut Call) -> Result<(), Error> {
    let server = protocol::parse_server(input)?;
    let key = registry::canonical(&server);
    call.server = Some(key.clone());
    let session = Session::open()?;
    let removed = credential::retire::erase(&session, &key)?;
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
