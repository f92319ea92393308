//! The command line, declared once: every command, option and help sentence. `--help`, typo
//! suggestions, the shell completions and the man page are all derived from these definitions.
//!
//! Owns parsing and the generated texts only: it never runs a command, reads stdin or opens the
//! store. The protocol commands (`get`, `store`, `erase`, `list`, `version`) are declared here
//! for help, completions and the man page, but `app` dispatches them before clap runs, so that
//! `get` stays fast and its output byte-exact.
//!
//! Adding a command: a variant in [`Command`] (with an `Args` struct if it takes options), one
//! arm in `app::human`, then `DCD_REGENERATE=1 cargo test --lib cli` rewrites `dist/`.

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

pub use crate::NAME;

/// The commands Docker and friends call; `app` answers them without clap.
pub const PROTOCOL_COMMANDS: [&str; 5] = ["get", "store", "erase", "list", "version"];

#[derive(Debug, Parser)]
#[command(
    name = NAME,
    version,
    disable_version_flag = true,
    about = "Docker credential helper that creates Deepgram self-hosted credentials for quay.io once and keeps them in the OS keychain",
    long_about = "Docker credential helper that creates Deepgram self-hosted distribution credentials \
(Quay robot accounts) for quay.io through the Deepgram API on first use, keeps them in the OS \
keychain (or a 0600 file store) and serves them from there. Docker, podman, skopeo, buildah and \
nerdctl call the protocol commands; people call the others.",
    after_long_help = "Configuration is read from config.toml in the config directory \
(~/.config/docker-credential-deepgram, or DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR); the API key \
comes from DEEPGRAM_API_KEY or from `login`. The README lists every setting, environment \
variable and error message."
)]
pub struct Cli {
    /// Print the name and version and exit (the same as the `version` command).
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save a Deepgram API key (read from stdin, or prompted without echo)
    ///
    /// Reads the key from stdin when it is not a terminal, else prompts without echo, checks it
    /// against the Deepgram API, saves it in the same store as the credentials, and names the
    /// projects it sees. The key is never printed or written anywhere but the store.
    Login(LoginArgs),
    /// Remove the saved Deepgram API key
    ///
    /// Removes the key saved by `login` from every place `get` reads it.
    Logout(LogoutArgs),
    /// Show stored credentials, their Deepgram ids and unfinished creates
    ///
    /// Shows each stored credential (server, username, store), the Deepgram id, project,
    /// created time, scopes and comment of those this helper created, creates that never
    /// finished, the store, the provisioning registries and where the API key comes from.
    /// Never shows a secret; uses no network.
    Status(StatusArgs),
    /// Check the whole chain: PATH, client configs, keychain, API key, the registry itself
    ///
    /// Runs every check and prints one line each (ok, warn, fail or skip), with what to do under
    /// each warn and fail: this binary on PATH, Docker's and podman's configs (and what shadows
    /// them), the kubelet's provider config, the store, config.toml, the API key and project, and
    /// whether each stored credential still exists in the project and is accepted by the
    /// registry's own auth handshake. Exit 1 when a check failed. Never shows a secret.
    Doctor(DoctorArgs),
    /// Delete the Deepgram credential of a registry, then the local copy
    ///
    /// Deletes, in the Deepgram project, the credential this install uses for the registry,
    /// then erases the local copy. A credential already gone remotely is still erased locally;
    /// a remote failure keeps the local copy and says why. Asks first unless --yes.
    Revoke(RevokeArgs),
    /// Replace the Deepgram credential of a registry with a new one
    ///
    /// Creates a new credential (under the provisioning lock), stores it, then retires the old
    /// one: it stays live for rotate_grace (24h by default) so that copies of it keep working,
    /// then a due get or `prune` deletes it (at once with rotate_grace = 0s). A failed create
    /// leaves the old one in place. Asks first unless --yes.
    Rotate(RotateArgs),
    /// Delete this install's orphaned Deepgram credentials
    ///
    /// Deletes credentials that carry this install's [dcd:...] tag but are not in use (a create
    /// that got no answer, a retired one past its grace, a failed delete), never the current one,
    /// never a retiring one within its grace and never one made by hand. Prints what it will
    /// delete before deleting. Asks first unless --yes.
    Prune(PruneArgs),
    /// Register this helper with Docker and podman/skopeo/buildah, or write the kubelet's config
    ///
    /// Adds `credHelpers` entries for the provisioning registries to Docker's config.json and
    /// podman's auth.json (recording each change so that --undo can remove it), moving plaintext
    /// logins for those registries into the store. With --kubelet, writes a
    /// CredentialProviderConfig for this binary instead.
    Configure(ConfigureArgs),
    /// Print a Kubernetes pull secret for a provisioning registry
    ///
    /// Prints a Secret of type kubernetes.io/dockerconfigjson (for `kubectl apply -f -` and the
    /// deepgram-self-hosted chart's global.pullSecretRef), creating the credential first if
    /// needed. Writes only to stdout.
    Export(ExportArgs),
    /// Answer one kubelet CredentialProviderRequest on stdin
    ///
    /// The kubelet's exec credential-provider plugin protocol: reads a CredentialProviderRequest
    /// on stdin and answers a CredentialProviderResponse on stdout. `configure --kubelet`
    /// writes the kubelet's config that runs it.
    Kubelet,
    /// Print a shell completion script
    ///
    /// Prints the completion script for SHELL on stdout, for example
    /// `docker-credential-deepgram completions bash > ~/.local/share/bash-completion/completions/docker-credential-deepgram`.
    Completions(CompletionsArgs),
    /// Docker protocol: print the credential for the server name on stdin
    #[command(disable_help_flag = true)]
    Get,
    /// Docker protocol: store the {"ServerURL","Username","Secret"} JSON on stdin
    #[command(disable_help_flag = true)]
    Store,
    /// Docker protocol: erase the local copy for the server name on stdin
    #[command(disable_help_flag = true)]
    Erase,
    /// Docker protocol: print stored servers and usernames as JSON, never a secret
    #[command(disable_help_flag = true)]
    List,
    /// Print the name and version
    #[command(disable_help_flag = true)]
    Version,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Also save ID as project_id in config.toml, so that credentials are created in that
    /// project (it must be one the key sees).
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also erase every stored registry credential (the local copies: the Deepgram credentials
    /// stay in the project).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the same facts as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also list every distribution credential the API key sees in the project, each marked
    /// current, orphan or other (needs the network and an API key).
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The provisioning registry whose credential to revoke (default: the first one, quay.io).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Every credential this install created: those in use (then their local copies), retiring,
    /// to delete and orphaned ones (`install.sh --uninstall --purge` uses this).
    #[arg(long, conflicts_with = "registry")]
    pub all: bool,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print what was done as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The provisioning registry whose credential to replace (default: the first one, quay.io).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print what was done as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Print what would be deleted and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print the plan and what was done as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also delete other installs' tagged credentials created before now minus --older-than
    /// (nodes that are gone); never this install's current one.
    #[arg(long)]
    pub all_installs: bool,
    /// With --all-installs: only credentials older than this duration (e.g. 720h).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as one JSON object: {"ok", "checks": [{"name", "status", "detail",
    /// "fix"}]}.
    #[arg(long)]
    pub json: bool,
    /// Skip every check that needs the network (the API and the registry); they show as skip.
    #[arg(long)]
    pub offline: bool,
    /// Check only this provisioning registry (default: all of them).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// The kubelet's credential provider config to check (default:
    /// /etc/kubernetes/credential-provider.yaml, when it exists).
    #[arg(long, value_name = "PATH")]
    pub kubelet_config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// Print what would change and write nothing (with --kubelet: print the provider config).
    #[arg(long)]
    pub dry_run: bool,
    /// Remove what earlier runs changed, as recorded in configured.json.
    #[arg(long)]
    pub undo: bool,
    /// Take over a registry that another credential helper serves (--undo gives it back); with
    /// --kubelet, replace a different provider config, keeping a .bak.
    #[arg(long)]
    pub force: bool,
    /// Move plaintext logins for the provisioning registries into the store (the default).
    #[arg(long)]
    pub migrate: bool,
    /// Leave plaintext logins for the provisioning registries in the client files and only
    /// report them.
    #[arg(long)]
    pub no_migrate: bool,
    /// Write the kubelet's CredentialProviderConfig for this binary instead of configuring
    /// Docker and podman.
    #[arg(long)]
    pub kubelet: bool,
    /// With --kubelet: where to write the provider config (default
    /// /etc/kubernetes/credential-provider.yaml).
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub kubelet_config: Option<PathBuf>,
    /// With --kubelet: the absolute directory in which the plugin keeps the node's file store
    /// (default /var/lib/docker-credential-deepgram).
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The provisioning registry to export (default: the first of `registries` in config.toml).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Name of the Secret (default dg-regcred).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Namespace of the Secret (default: none, so kubectl uses its current namespace).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// What to print: `secret`, a Secret manifest (the default), or `dockerconfigjson`, only
    /// the Secret's .dockerconfigjson JSON.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print even when stdout is a terminal (the secret then stays in its scrollback).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Whether `name` is a command clap knows (so a parse error is about its options, not a typo
/// of the command itself).
pub fn is_command(name: &str) -> bool {
    Cli::command()
        .get_subcommands()
        .any(|sub| sub.get_name() == name)
        || name == "help"
}

/// The commands with their one-line summaries, as stderr shows them after a usage error.
pub fn command_list() -> String {
    let cmd = Cli::command();
    let width = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Commands:\n");
    for sub in cmd.get_subcommands() {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        text.push_str(&format!("  {:width$}  {about}\n", sub.get_name()));
    }
    text.push_str(&format!(
        "Run `{NAME} <command> --help` for a command's options."
    ));
    text
}

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    if shell != Shell::Bash {
        clap_complete::generate(shell, &mut Cli::command(), NAME, &mut out);
        return out;
    }
    // clap_complete's bash script never completes a command's options when the binary name has
    // a hyphen (its case labels and its dispatch spell the name differently:
    // https://github.com/clap-rs/clap/issues/6421). Generated for an underscored name, whose
    // labels agree, then registered for the real name.
    let alias = NAME.replace('-', "_");
    clap_complete::generate(shell, &mut Cli::command(), &alias, &mut out);
    String::from_utf8(out)
        .expect("completions are UTF-8")
        .replace(&format!(" {alias}\n"), &format!(" {NAME}\n"))
        .into_bytes()
}

/// The man page (roff): the top-level page, then a section per command with its options.
pub fn man_page() -> Vec<u8> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    let mut commands = roff::Roff::new();
    commands.control("SH", ["COMMANDS"]);
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        page.extend_from_slice(commands.to_roff().as_bytes());
        for sub in cmd.get_subcommands().filter(|sub| sub.get_name() != "help") {
            let about = sub
                .get_long_about()
                .or(sub.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let usage = sub.clone().render_usage().to_string();
            let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
            let mut section = roff::Roff::new();
            section.control("SS", [sub.get_name()]);
            section.text([roff::bold(usage)]);
            section.control("PP", []);
            section.text([roff::roman(about)]);
            page.extend_from_slice(section.to_roff().as_bytes());
            if sub.get_arguments().any(|arg| arg.get_id() != "help") {
                let mut options = Vec::new();
                clap_mangen::Man::new(sub.clone()).render_options_section(&mut options)?;
                // Its options as a list under this command's heading, not a page section.
                let options = String::from_utf8_lossy(&options);
                let options = options.split_once(".SH OPTIONS\n").map_or("", |(_, o)| o);
                page.extend_from_slice(options.as_bytes());
            }
        }
        let mut extra = Vec::new();
        man.render_extra_section(&mut extra)?;
        let extra = String::from_utf8_lossy(&extra).replace(".SH EXTRA", ".SH CONFIGURATION");
        page.extend_from_slice(extra.as_bytes());
        man.render_version_section(&mut page)
    })();
    rendered.expect("writing to a Vec cannot fail");
    // Each clap_mangen call repeats roff's preamble (the `Aq` string definition): keep the first.
    let page = String::from_utf8(page).expect("roff is UTF-8");
    let preamble = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    match page.split_once(preamble) {
        Some((before, rest)) => format!("{before}{preamble}{}", rest.replace(preamble, "")),
        None => page,
    }
    .into_bytes()
}

/// The generated files shipped in `dist/` (and the .deb), by path relative to the crate root.
pub fn generated_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("dist/docker-credential-deepgram.1", man_page()),
        (
            "dist/completions/docker-credential-deepgram.bash",
            completion(Shell::Bash),
        ),
        (
            "dist/completions/_docker-credential-deepgram",
            completion(Shell::Zsh),
        ),
        (
            "dist/completions/docker-credential-deepgram.fish",
            completion(Shell::Fish),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_option_of_every_command_is_explained_in_a_sentence() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            assert!(
                sub.get_about().is_some(),
                "{} has no summary line",
                sub.get_name()
            );
            for arg in sub.get_arguments().filter(|arg| !arg.is_hide_set()) {
                // clap drops a one-sentence doc comment's final period.
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    help.split_whitespace().count() >= 4
                        && help.starts_with(|c: char| c.is_uppercase()),
                    "{} {:?}: {help:?} is not a sentence",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn the_protocol_commands_are_declared_for_help_and_completions() {
        for name in PROTOCOL_COMMANDS {
            assert!(is_command(name), "{name}");
        }
        assert!(!is_command("statsu"));
    }

    #[test]
    fn the_command_list_has_a_line_per_command() {
        let list = command_list();
        for name in [
            "login",
            "logout",
            "status",
            "doctor",
            "revoke",
            "rotate",
            "prune",
            "configure",
            "export",
            "kubelet",
            "get",
        ] {
            assert!(
                list.lines()
                    .any(|line| line.trim_start().starts_with(&format!("{name} "))),
                "{name}: {list}"
            );
        }
    }

    /// The man page and completions in `dist/` (shipped in the .deb, which `cargo deb` builds
    /// from a clean checkout) must match these definitions. `DCD_REGENERATE=1` rewrites them.
    #[test]
    fn generated_files_in_dist_are_current() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let regenerate = std::env::var_os("DCD_REGENERATE").is_some();
        let mut stale = Vec::new();
        for (path, expected) in generated_files() {
            let path = root.join(path);
            if std::fs::read(&path).ok().as_deref() == Some(&expected[..]) {
                continue;
            }
            if regenerate {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &expected).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated files: {stale:?}: run `DCD_REGENERATE=1 cargo test --lib cli` and commit them"
        );
    }

    #[test]
    fn the_man_page_documents_every_command_and_option() {
        let page = String::from_utf8(man_page()).unwrap();
        for needle in [
            ".SS login",
            ".SS configure",
            "\\-\\-kubelet\\-config",
            "\\-\\-no\\-migrate",
            ".SS completions",
            ".SS get",
        ] {
            assert!(page.contains(needle), "{needle} missing");
        }
    }
}
