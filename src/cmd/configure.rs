//! `configure`: registers the helper with Docker and podman/skopeo/buildah, or writes the
//! kubelet's `CredentialProviderConfig` (`--kubelet`).
//!
//! Every file is read and planned before any is written, so an invalid file stops the command
//! with nothing changed; each file's change is recorded in the state file as soon as it lands,
//! so a failure on a later file never leaves an unrecorded change. Plaintext credentials for a
//! provisioning registry (unless `--no-migrate`) are stored in our store *before* the file that
//! held them is rewritten, so a failure loses nothing, and never replace a credential the store
//! already holds. `--dry-run` prints what would change and touches nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ConfigureArgs;
use crate::client_config::{self, FilePlan, Held};
use crate::config::Config;
use crate::env::{self, clients};
use crate::error::{CommandKind, Error};
use crate::registry;
use crate::store::{BackendKind, Store, StoredCredential};

/// Where `--kubelet` writes by default, and the node state directory it points the plugin at.
const DEFAULT_KUBELET_CONFIG: &str = "/etc/kubernetes/credential-provider.yaml";
const DEFAULT_STATE_DIR: &str = "/var/lib/docker-credential-deepgram";

pub fn run(args: &ConfigureArgs, out: &mut impl Write) -> Result<(), Error> {
    refuse_contradictions(args)?;
    if args.undo {
        return undo(args, out);
    }
    let config = Config::load()?;
    if args.kubelet {
        return kubelet(args, &config, out);
    }
    let home = home()?;
    let plan_options = client_config::Options {
        force: args.force,
        undo: false,
    };
    let hosts = config.registry_hosts();
    let mut state = client_config::load_state(&config.dir).map_err(command_error)?;
    let mut plans = client_config::targets(&env::var, &home)
        .into_iter()
        .map(|target| {
            client_config::plan(target, &hosts, &plan_options, &state, registry::canonical)
        })
        .collect::<Result<Vec<FilePlan>, _>>()
        .map_err(command_error)?;
    let dry_run = args.dry_run;
    let store = settle_plaintext(&config, &mut plans, !args.no_migrate)?;
    if !dry_run {
        if let Some(store) = &store {
            store_migrations(store, &plans)?;
        }
        apply_recorded(&config.dir, &mut state, &plans)?;
    }
    report(&plans, dry_run, false, out)?;
    let path = env::var(clients::PATH).unwrap_or_default();
    if !client_config::helper_on_path(&path) {
        writeln!(
            out,
            "warning: {} is not on PATH; Docker and podman look for it there: install it with ./install.sh or add its directory to PATH",
            crate::NAME
        )
        .map_err(Error::Output)?;
    }
    Ok(())
}

fn home() -> Result<PathBuf, Error> {
    env::var(clients::HOME).map(PathBuf::from).ok_or_else(|| {
        Error::command(
            CommandKind::Environment,
            "configure: HOME is not set: set it, or DOCKER_CONFIG and REGISTRY_AUTH_FILE".into(),
        )
    })
}

/// `--undo` needs only the record in the config directory, not the settings: it works whatever
/// `config.toml` holds (a broken one is the moment a person most needs it), with the config
/// error as a warning.
fn undo(args: &ConfigureArgs, out: &mut impl Write) -> Result<(), Error> {
    let dir = match Config::load() {
        Ok(config) => config.dir,
        Err(err) => {
            let dir = crate::config::config_dir()?;
            eprintln!(
                "{}: warning: {err}; undoing from the record in {} anyway",
                crate::cli::NAME,
                dir.display()
            );
            dir
        }
    };
    let home = home()?;
    let options = client_config::Options {
        force: args.force,
        undo: true,
    };
    let mut state = client_config::load_state(&dir).map_err(command_error)?;
    let plans = client_config::targets(&env::var, &home)
        .into_iter()
        .map(|target| client_config::plan(target, &[], &options, &state, registry::canonical))
        .collect::<Result<Vec<FilePlan>, _>>()
        .map_err(command_error)?;
    if !plans
        .iter()
        .any(|plan| state.files.contains_key(&state_key(plan)))
    {
        return writeln!(
            out,
            "nothing to undo: {} in {} records no change to these files",
            client_config::STATE_FILE,
            dir.display()
        )
        .map_err(Error::Output);
    }
    if !args.dry_run {
        apply_recorded(&dir, &mut state, &plans)?;
    }
    report(&plans, args.dry_run, true, out)
}

/// Writes each plan's file and records it in the state file as soon as it lands, so that a
/// failure on a later file leaves `--undo` able to remove exactly what was done.
fn apply_recorded(
    dir: &Path,
    state: &mut client_config::State,
    plans: &[FilePlan],
) -> Result<(), Error> {
    let mut done: Vec<String> = Vec::new();
    for plan in plans {
        client_config::apply(plan).map_err(|err| partial_failure(err, &done))?;
        let key = state_key(plan);
        let before = state.files.get(&key).cloned();
        match &plan.state {
            Some(file_state) => state.files.insert(key, file_state.clone()),
            None => state.files.remove(&key),
        };
        if state.files.get(&state_key(plan)) != before.as_ref() || plan.changes_anything() {
            client_config::save_state(dir, state).map_err(|err| {
                let mut changed = done.clone();
                changed.push(format!("{} (not recorded)", plan.real_path.display()));
                partial_failure(err, &changed)
            })?;
        }
        if plan.changes_anything() {
            done.push(plan.real_path.display().to_string());
        }
    }
    Ok(())
}

/// Flags that contradict each other are refused rather than one silently winning.
fn refuse_contradictions(args: &ConfigureArgs) -> Result<(), Error> {
    let pairs = [
        (("undo", args.undo), ("migrate", args.migrate)),
        (("undo", args.undo), ("no-migrate", args.no_migrate)),
        (("undo", args.undo), ("kubelet", args.kubelet)),
        (("migrate", args.migrate), ("no-migrate", args.no_migrate)),
        (("kubelet", args.kubelet), ("migrate", args.migrate)),
        (("kubelet", args.kubelet), ("no-migrate", args.no_migrate)),
    ];
    for ((a, a_set), (b, b_set)) in pairs {
        if a_set && b_set {
            return Err(Error::command(
                CommandKind::Usage,
                format!("configure: --{a} and --{b} contradict each other: use one"),
            ));
        }
    }
    let valued = [
        ("kubelet-config", args.kubelet_config.is_some()),
        ("state-dir", args.state_dir.is_some()),
    ];
    for (valued, given) in valued {
        if given && !args.kubelet {
            return Err(Error::command(
                CommandKind::Usage,
                format!("configure: --{valued} goes with --kubelet: add it, or drop --{valued}"),
            ));
        }
    }
    Ok(())
}

fn state_key(plan: &FilePlan) -> String {
    plan.real_path.display().to_string()
}

fn partial_failure(err: client_config::ConfigureError, done: &[String]) -> Error {
    if done.is_empty() {
        return command_error(err);
    }
    Error::command(
        CommandKind::Partial,
        format!(
            "configure: {err}; already changed: {} (configure --undo removes what was recorded)",
            done.join(", ")
        ),
    )
}

/// Decides what happens to plaintext `auths` entries for provisioning registries: moved into
/// the store (the helper would shadow them otherwise), dropped as duplicates of what the store
/// holds, or left where a different credential is already stored (never replaced: it may be
/// the one this helper created, tracked in the index). Returns the store when one was opened.
fn settle_plaintext(
    config: &Config,
    plans: &mut [FilePlan],
    migrate: bool,
) -> Result<Option<Store>, Error> {
    if plans.iter().all(|plan| plan.plaintext.is_empty()) {
        return Ok(None);
    }
    if !migrate {
        for plan in plans.iter_mut() {
            client_config::settle_plaintext(plan, "", |_| None);
        }
        return Ok(None);
    }
    let store = Store::open(config)?;
    let name = match store.backend_kind() {
        BackendKind::Keyring => "the keychain".to_string(),
        BackendKind::File => format!(
            "the file store ({})",
            config.dir.join(crate::store::file::FILE_NAME).display()
        ),
    };
    // Decided in order, so that two files holding different secrets for one registry do not
    // both move (the second would overwrite the first).
    let mut decided: HashMap<(PathBuf, String), Held> = HashMap::new();
    let mut moving: HashMap<String, StoredCredential> = HashMap::new();
    for entry in plans.iter().flat_map(|plan| &plan.plaintext) {
        let theirs = StoredCredential {
            username: entry.username.clone(),
            secret: entry.secret.clone(),
        };
        let ours = match moving.get(&entry.key) {
            Some(pending) => Some(pending.clone()),
            None => store.get(&entry.key)?,
        };
        let held = match ours {
            None => {
                moving.insert(entry.key.clone(), theirs);
                Held::Nothing
            }
            Some(ours) if ours == theirs => Held::Same,
            Some(ours) => Held::Other {
                username: ours.username,
            },
        };
        decided.insert((entry.file.clone(), entry.auths_key.clone()), held);
    }
    for plan in plans.iter_mut() {
        client_config::settle_plaintext(plan, &name, |entry| {
            decided
                .get(&(entry.file.clone(), entry.auths_key.clone()))
                .cloned()
        });
    }
    Ok(Some(store))
}

/// Stores migrated plaintext credentials before any file loses them.
fn store_migrations(store: &Store, plans: &[FilePlan]) -> Result<(), Error> {
    for migration in plans.iter().flat_map(|p| &p.migrations) {
        let credential = StoredCredential {
            username: migration.username.clone(),
            secret: migration.secret.clone(),
        };
        store.put(&migration.key, &migration.auths_key, &credential, None)?;
    }
    Ok(())
}

fn report(
    plans: &[FilePlan],
    dry_run: bool,
    undo: bool,
    out: &mut impl Write,
) -> Result<(), Error> {
    let verb = if dry_run { "would change" } else { "changed" };
    let unchanged = if undo {
        "nothing to undo"
    } else {
        "already configured"
    };
    for plan in plans {
        let name = plan.real_path.display();
        if plan.changes.is_empty() {
            writeln!(out, "{name} ({}): {unchanged}", plan.target.kind.describe())
        } else {
            writeln!(out, "{name} ({}): {verb}:", plan.target.kind.describe())
                .and_then(|()| {
                    plan.changes
                        .iter()
                        .try_for_each(|change| writeln!(out, "  {change}"))
                })
                .and_then(|()| {
                    if dry_run || plan.target.path == plan.real_path {
                        Ok(())
                    } else {
                        writeln!(
                            out,
                            "  (through the symlink {})",
                            plan.target.path.display()
                        )
                    }
                })
        }
        .map_err(Error::Output)?;
        for note in &plan.notes {
            writeln!(out, "note: {note}").map_err(Error::Output)?;
        }
    }
    if dry_run {
        writeln!(out, "dry run: nothing was written").map_err(Error::Output)?;
    }
    Ok(())
}

/// `--kubelet`: a CredentialProviderConfig for this binary, written or printed.
fn kubelet(args: &ConfigureArgs, config: &Config, out: &mut impl Write) -> Result<(), Error> {
    let path = args
        .kubelet_config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KUBELET_CONFIG));
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    if !state_dir.is_absolute() {
        return Err(Error::command(
            CommandKind::Usage,
            format!(
                "configure: --state-dir {} is a relative path; the kubelet starts the plugin in another directory: use an absolute path",
                state_dir.display()
            ),
        ));
    }
    let state_dir = state_dir.display().to_string();
    let state_dir = state_dir.as_str();
    let binary = std::env::current_exe().map_err(|err| {
        Error::command(
            CommandKind::Environment,
            format!("configure: cannot locate this binary: {err}"),
        )
    })?;
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| crate::NAME.to_string());
    let bin_dir = binary.parent().unwrap_or(Path::new("/usr/local/bin"));
    let hosts = config.registry_hosts();
    let yaml = crate::kubelet::render_provider_config(
        &hosts,
        &name,
        &crate::duration::format(config.kubelet_cache_duration),
        &[
            (env::CONFIG_DIR.to_string(), state_dir.to_string()),
            (env::STORE.to_string(), "file".to_string()),
        ],
    );
    let instructions = format!(
        "kubelet flags: --image-credential-provider-config={} --image-credential-provider-bin-dir={}\nthen save the API key on the node: {}",
        path.display(),
        bin_dir.display(),
        super::node_login_command(Path::new(state_dir), &name),
    );
    if args.dry_run {
        out.write_all(yaml.as_bytes()).map_err(Error::Output)?;
        eprintln!("{instructions}");
        return Ok(());
    }
    let existing = crate::files::read_optional(&path).map_err(|err| {
        Error::command(
            CommandKind::Io,
            format!("configure: cannot read {}: {err}", path.display()),
        )
    })?;
    match existing {
        Some(bytes) if bytes == yaml.as_bytes() => {
            writeln!(out, "{}: already configured", path.display()).map_err(Error::Output)?;
        }
        Some(_) if !args.force => {
            return Err(Error::command(
                CommandKind::Refused,
                format!(
                    "configure: {} exists with other contents (it may configure other providers): merge the output of `configure --kubelet --dry-run` by hand, or rerun with --force to replace it (a .bak is kept)",
                    path.display()
                ),
            ));
        }
        existing => {
            let write = |target: &Path, bytes: &[u8]| {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::files::write_atomic(target, bytes, 0o644)
            };
            if let Some(bytes) = existing {
                write(&client_config::backup_path(&path), &bytes).map_err(|err| {
                    Error::command(
                        CommandKind::Io,
                        format!("configure: cannot back up {}: {err}", path.display()),
                    )
                })?;
            }
            write(&path, yaml.as_bytes()).map_err(|err| {
                Error::command(
                    CommandKind::Io,
                    format!("configure: cannot write {}: {err}", path.display()),
                )
            })?;
            writeln!(out, "wrote {}", path.display()).map_err(Error::Output)?;
        }
    }
    writeln!(out, "{instructions}").map_err(Error::Output)
}

fn command_error(err: client_config::ConfigureError) -> Error {
    Error::command(CommandKind::ClientConfig, format!("configure: {err}"))
}
