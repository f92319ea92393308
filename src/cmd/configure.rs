//! `configure`: registers the helper with Docker and podman/skopeo/buildah, or writes the
//! kubelet's `CredentialProviderConfig` (`--kubelet`).
//!
//! Every file is read and planned before any is written, so an invalid file stops the command
//! with nothing changed. With `--migrate`, plaintext credentials are stored in our store
//! *before* the file that held them is rewritten, so a failure loses nothing. `--dry-run`
//! prints what would change and touches nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Options;
use crate::config::Config;
use crate::configure::{self, FilePlan};
use crate::env::{self, clients};
use crate::error::Error;
use crate::registry;
use crate::store::{Store, StoredCredential};

/// Where `--kubelet` writes by default, and the node state directory it points the plugin at.
const DEFAULT_KUBELET_CONFIG: &str = "/etc/kubernetes/credential-provider.yaml";
const DEFAULT_STATE_DIR: &str = "/var/lib/docker-credential-deepgram";

pub fn run(args: &[String], out: &mut impl Write) -> Result<(), Error> {
    let options = Options::parse(
        "configure",
        args,
        &["kubelet-config", "state-dir"],
        &["dry-run", "undo", "force", "migrate", "kubelet"],
    )?;
    let config = Config::load()?;
    if options.flag("kubelet") {
        return kubelet(&options, &config, out);
    }
    let home = env::var(clients::HOME).map(PathBuf::from).ok_or_else(|| {
        Error::Command(
            "configure: HOME is not set: set it, or DOCKER_CONFIG and REGISTRY_AUTH_FILE".into(),
        )
    })?;
    let targets = configure::targets(&env::var, &home);
    let plan_options = configure::Options {
        force: options.flag("force"),
        undo: options.flag("undo"),
        migrate: options.flag("migrate"),
    };
    // credHelpers are keyed by host[:port]: a path in a registry name cannot be configured.
    let hosts: Vec<String> = config
        .registries
        .iter()
        .map(|r| r.split('/').next().unwrap_or(r).to_string())
        .collect();
    let mut state = configure::load_state(&config.dir).map_err(command_error)?;
    let plans = targets
        .into_iter()
        .map(|target| configure::plan(target, &hosts, &plan_options, &state, registry::canonical))
        .collect::<Result<Vec<FilePlan>, _>>()
        .map_err(command_error)?;

    let dry_run = options.flag("dry-run");
    if !dry_run {
        store_migrations(&config, &plans)?;
        for plan in &plans {
            configure::apply(plan).map_err(command_error)?;
            let key = plan.real_path.display().to_string();
            match &plan.state {
                Some(file_state) => state.files.insert(key, file_state.clone()),
                None => state.files.remove(&key),
            };
        }
        if plans.iter().any(FilePlan::changes_anything) {
            configure::save_state(&config.dir, &state).map_err(command_error)?;
        }
    }
    report(&plans, dry_run, out)?;
    if !options.flag("undo") {
        let path = env::var(clients::PATH).unwrap_or_default();
        if !configure::helper_on_path(&path) {
            writeln!(
                out,
                "warning: {} is not on PATH; Docker and podman look for it there: install it with ./install.sh or add its directory to PATH",
                configure::HELPER_BINARY
            )
            .map_err(Error::Output)?;
        }
    }
    Ok(())
}

/// Stores migrated plaintext credentials before any file loses them.
fn store_migrations(config: &Config, plans: &[FilePlan]) -> Result<(), Error> {
    let migrations: Vec<_> = plans.iter().flat_map(|p| &p.migrations).collect();
    if migrations.is_empty() {
        return Ok(());
    }
    let store = Store::open(config)?;
    for migration in migrations {
        let key = registry::canonical(&migration.auths_key);
        let credential = StoredCredential {
            username: migration.username.clone(),
            secret: migration.secret.clone(),
        };
        store.put(&key, &migration.auths_key, &credential, None)?;
    }
    Ok(())
}

fn report(plans: &[FilePlan], dry_run: bool, out: &mut impl Write) -> Result<(), Error> {
    let verb = if dry_run { "would change" } else { "changed" };
    for plan in plans {
        let name = plan.real_path.display();
        if plan.changes.is_empty() {
            writeln!(
                out,
                "{name} ({}): already configured",
                plan.target.kind.describe()
            )
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
fn kubelet(options: &Options, config: &Config, out: &mut impl Write) -> Result<(), Error> {
    let path = PathBuf::from(
        options
            .value("kubelet-config")
            .unwrap_or(DEFAULT_KUBELET_CONFIG),
    );
    let state_dir = options.value("state-dir").unwrap_or(DEFAULT_STATE_DIR);
    let binary = std::env::current_exe()
        .map_err(|err| Error::Command(format!("configure: cannot locate this binary: {err}")))?;
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| configure::HELPER_BINARY.to_string());
    let bin_dir = binary.parent().unwrap_or(Path::new("/usr/local/bin"));
    let hosts: Vec<String> = config
        .registries
        .iter()
        .map(|r| r.split('/').next().unwrap_or(r).to_string())
        .collect();
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
        "kubelet flags: --image-credential-provider-config={} --image-credential-provider-bin-dir={}\nthen save the API key on the node: {}={state_dir} {}=file {name} login",
        path.display(),
        bin_dir.display(),
        env::CONFIG_DIR,
        env::STORE,
    );
    if options.flag("dry-run") {
        out.write_all(yaml.as_bytes()).map_err(Error::Output)?;
        eprintln!("{instructions}");
        return Ok(());
    }
    let existing = crate::files::read_optional(&path).map_err(|err| {
        Error::Command(format!("configure: cannot read {}: {err}", path.display()))
    })?;
    match existing {
        Some(bytes) if bytes == yaml.as_bytes() => {
            writeln!(out, "{}: already configured", path.display()).map_err(Error::Output)?;
        }
        Some(_) if !options.flag("force") => {
            return Err(Error::Command(format!(
                "configure: {} exists with other contents (it may configure other providers): merge the output of `configure --kubelet --dry-run` by hand, or rerun with --force to replace it (a .bak is kept)",
                path.display()
            )));
        }
        existing => {
            let write = |target: &Path, bytes: &[u8]| {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::files::write_atomic(target, bytes, 0o644)
            };
            if let Some(bytes) = existing {
                write(&configure::backup_path(&path), &bytes).map_err(|err| {
                    Error::Command(format!(
                        "configure: cannot back up {}: {err}",
                        path.display()
                    ))
                })?;
            }
            write(&path, yaml.as_bytes()).map_err(|err| {
                Error::Command(format!("configure: cannot write {}: {err}", path.display()))
            })?;
            writeln!(out, "wrote {}", path.display()).map_err(Error::Output)?;
        }
    }
    writeln!(out, "{instructions}").map_err(Error::Output)
}

fn command_error(err: configure::ConfigureError) -> Error {
    Error::Command(format!("configure: {err}"))
}
