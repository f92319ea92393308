//! Registering the helper in client config files: Docker's `config.json` and the containers
//! auth file that podman, skopeo and buildah read (they ignore `credsStore` and honour only
//! `credHelpers`, skopeo #1083).
//!
//! Two phases, so nothing is written until every file has been read and understood: [`plan`]
//! reads one file and works out its new contents; [`apply`] writes it. Promises: every other key
//! keeps its value and order; the write is atomic and keeps the file's mode (0600 for a new
//! file); a symlinked config is followed and stays a link; one backup (`<file>.bak`) of the
//! previous contents is kept; a file that is not valid JSON is an error naming it and is never
//! overwritten; a different helper already set for a registry is left alone unless forced; undo
//! removes exactly what configure added, as recorded in the state file; the backup is 0600 (it
//! may hold plaintext `auths`); run as root, a file keeps its owner and group, and a directory
//! it creates gets its parent's. Never prints a secret: plaintext credentials found in `auths`
//! are offered to the caller ([`FilePlan::plaintext`]), who decides with [`settle_plaintext`]
//! which ones to move into the store first; they leave the file only in [`apply`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::files;
use crate::secret::Secret;

/// The suffix clients append to `docker-credential-`.
pub const HELPER_SUFFIX: &str = "deepgram";
/// What configure added, per file, so that `--undo` removes exactly that.
pub const STATE_FILE: &str = "configured.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFile {
    Docker,
    Containers,
}

impl ClientFile {
    pub fn describe(self) -> &'static str {
        match self {
            ClientFile::Docker => "Docker config",
            ClientFile::Containers => "containers auth file (podman, skopeo, buildah)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub kind: ClientFile,
    pub path: PathBuf,
}

/// The two files, from the variables the clients themselves read.
pub fn targets(var: &dyn Fn(&str) -> Option<String>, home: &Path) -> Vec<Target> {
    let docker = match var("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => home.join(".docker/config.json"),
    };
    let containers = match (var("REGISTRY_AUTH_FILE"), var("XDG_CONFIG_HOME")) {
        (Some(file), _) => PathBuf::from(file),
        (None, Some(config)) => PathBuf::from(config).join("containers/auth.json"),
        (None, None) => home.join(".config/containers/auth.json"),
    };
    vec![
        Target {
            kind: ClientFile::Docker,
            path: docker,
        },
        Target {
            kind: ClientFile::Containers,
            path: containers,
        },
    ]
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub force: bool,
    pub undo: bool,
}

/// Plaintext credentials found in a file's `auths` for a provisioning registry.
#[derive(Debug, Clone)]
pub struct Migration {
    pub file: PathBuf,
    /// The `auths` key as written in the file (e.g. `https://quay.io`).
    pub auths_key: String,
    /// The canonical registry key the store uses.
    pub key: String,
    pub username: String,
    pub secret: Secret,
}

/// What the store already holds for a plaintext entry's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Nothing: move the entry into the store.
    Nothing,
    /// The same username and secret: the file's copy is a duplicate and goes.
    Same,
    /// Another credential (e.g. one this helper created): it stays, and so does the file's entry,
    /// so that no secret is lost; the user is told.
    Other { username: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// Real (symlink-resolved) path → what configure added there.
    #[serde(default)]
    pub files: BTreeMap<String, FileState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileState {
    /// `credHelpers` keys configure set to our helper.
    #[serde(default)]
    pub registries: Vec<String>,
    /// Helpers configure replaced with `--force`: registry → previous helper, restored on undo.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaced: BTreeMap<String, String>,
    /// The `credHelpers` object did not exist before.
    #[serde(default)]
    pub created_cred_helpers: bool,
    /// The file did not exist before.
    #[serde(default)]
    pub created_file: bool,
}

/// One file's planned change.
#[derive(Debug)]
pub struct FilePlan {
    pub target: Target,
    /// Where the bytes are written: the symlink's target for a link.
    pub real_path: PathBuf,
    /// What will change, one line each ("add credHelpers[\"quay.io\"] = \"deepgram\"").
    pub changes: Vec<String>,
    /// Things the user should know that configure does not change.
    pub notes: Vec<String>,
    /// Plaintext entries for provisioning registries, for the caller to settle.
    pub plaintext: Vec<Migration>,
    /// The entries settled to move into the store: stored before [`apply`] removes them.
    pub migrations: Vec<Migration>,
    /// This file's state after the change (`None`: forget it).
    pub state: Option<FileState>,
    /// What `<file>.bak` gets: the previous contents, minus any secret moved out (a backup must
    /// not keep the plaintext that was moved into the store). `None`: no file.
    backup: Option<Vec<u8>>,
    outcome: Outcome,
    /// The parsed file as it was, and as it will be.
    before: Map<String, Value>,
    document: Map<String, Value>,
    undo: bool,
    created_file: bool,
}

#[derive(Debug)]
enum Outcome {
    Unchanged,
    Write(String),
    Delete,
}

impl FilePlan {
    pub fn changes_anything(&self) -> bool {
        !matches!(self.outcome, Outcome::Unchanged)
    }

    /// Works out the outcome from the planned document.
    fn settle(&mut self) {
        self.outcome = if self.document == self.before {
            Outcome::Unchanged
        } else if self.undo && self.created_file && self.document.is_empty() {
            Outcome::Delete
        } else {
            Outcome::Write(render(&self.document))
        };
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error(
        "{path} is not valid JSON ({detail}): fix or remove it, then run configure again; it was not changed"
    )]
    InvalidJson { path: PathBuf, detail: String },
    #[error(
        "{path}: `{key}` is not a JSON object: fix it, then run configure again; it was not changed"
    )]
    NotAnObject { path: PathBuf, key: String },
    #[error(
        "{path} already uses the credential helper `{helper}` for {registry}: rerun with --force to replace it"
    )]
    ForeignHelper {
        path: PathBuf,
        registry: String,
        helper: String,
    },
    #[error(
        "{path}: the plaintext credentials for {key} cannot be read ({detail}): remove the entry by hand and log in again"
    )]
    BadPlaintext {
        path: PathBuf,
        key: String,
        detail: String,
    },
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Works out one file's new contents. Reads only; writes nothing.
pub fn plan(
    target: Target,
    registries: &[String],
    options: &Options,
    state: &State,
    canonical: fn(&str) -> String,
) -> Result<FilePlan, ConfigureError> {
    let real_path = resolve_symlink(&target.path);
    let io = |source| ConfigureError::Io {
        path: real_path.clone(),
        source,
    };
    let original = files::read_optional(&real_path).map_err(io)?;
    let mut document = parse(&real_path, original.as_deref())?;
    let before = document.clone();
    let key = real_path.display().to_string();
    let previous = state.files.get(&key).cloned();
    let created_file = previous.as_ref().is_some_and(|s| s.created_file);
    let mut plan = FilePlan {
        target,
        real_path,
        changes: Vec::new(),
        notes: Vec::new(),
        plaintext: Vec::new(),
        migrations: Vec::new(),
        state: previous.clone(),
        backup: original,
        outcome: Outcome::Unchanged,
        before: Map::new(),
        document: Map::new(),
        undo: options.undo,
        created_file,
    };
    if options.undo {
        undo(&mut plan, &mut document, previous.unwrap_or_default())?;
    } else {
        add(&mut plan, &mut document, registries, options, previous)?;
        find_plaintext(&mut plan, &mut document, registries, canonical)?;
    }
    plan.before = before;
    plan.document = document;
    plan.settle();
    Ok(plan)
}

/// Decides each plaintext entry of `plan` with `held` (what the store holds for its registry;
/// `None`: leave the entry and say how to move it). `store` names the store in messages ("the
/// keychain", "the file store"). Moved entries go into `plan.migrations`; the caller stores them
/// before [`apply`] removes them from the file.
pub fn settle_plaintext(
    plan: &mut FilePlan,
    store: &str,
    mut held: impl FnMut(&Migration) -> Option<Held>,
) {
    let path = plan.real_path.display().to_string();
    let mut removed = Vec::new();
    for entry in std::mem::take(&mut plan.plaintext) {
        let key = &entry.auths_key;
        match held(&entry) {
            None => plan.notes.push(format!(
                "{path} holds plaintext credentials for {key}, which the helper now shadows: run configure without --no-migrate to move them into the store"
            )),
            Some(Held::Nothing) => {
                plan.changes.push(format!(
                    "move the plaintext credentials for {key:?} out of this file into {store}"
                ));
                removed.push(key.clone());
                plan.migrations.push(entry);
            }
            Some(Held::Same) => {
                plan.changes.push(format!(
                    "remove the plaintext credentials for {key:?}: {store} already holds the same"
                ));
                removed.push(key.clone());
            }
            Some(Held::Other { username }) => plan.notes.push(format!(
                "{path} holds plaintext credentials for {key} (user {}), but {store} already holds another credential for {} (user {username}): kept that one, which answers; delete the file's entry by hand if you no longer need it",
                entry.username, entry.key
            )),
        }
    }
    if removed.is_empty() {
        return;
    }
    let mut scrubbed = plan.before.clone();
    for document in [&mut plan.document, &mut scrubbed] {
        if let Some(auths) = document.get_mut("auths").and_then(Value::as_object_mut) {
            for key in &removed {
                auths.remove(key);
            }
        }
    }
    // The backup keeps everything of the old file except the secrets that moved.
    plan.backup = Some(render(&scrubbed).into_bytes());
    plan.settle();
}

fn add(
    plan: &mut FilePlan,
    document: &mut Map<String, Value>,
    registries: &[String],
    options: &Options,
    previous: Option<FileState>,
) -> Result<(), ConfigureError> {
    let mut state = previous.unwrap_or_else(|| FileState {
        created_file: plan.backup.is_none(),
        ..FileState::default()
    });
    if !document.contains_key("credHelpers") {
        document.insert("credHelpers".into(), Value::Object(Map::new()));
        state.created_cred_helpers = true;
    }
    let helpers = object_at(document, "credHelpers", &plan.real_path)?;
    for registry in registries {
        match helpers.get(registry) {
            Some(Value::String(helper)) if helper == HELPER_SUFFIX => {}
            Some(other) if !options.force => {
                return Err(ConfigureError::ForeignHelper {
                    path: plan.real_path.clone(),
                    registry: registry.clone(),
                    helper: other.as_str().unwrap_or("?").to_string(),
                });
            }
            Some(other) => {
                let old = other.as_str().unwrap_or("").to_string();
                plan.changes.push(format!(
                    "replace credHelpers[{registry:?}] = {old:?} with {HELPER_SUFFIX:?}"
                ));
                state.replaced.insert(registry.clone(), old);
                helpers.insert(registry.clone(), Value::String(HELPER_SUFFIX.into()));
                push_unique(&mut state.registries, registry);
            }
            None => {
                plan.changes
                    .push(format!("add credHelpers[{registry:?}] = {HELPER_SUFFIX:?}"));
                helpers.insert(registry.clone(), Value::String(HELPER_SUFFIX.into()));
                push_unique(&mut state.registries, registry);
            }
        }
    }
    plan.state = Some(state);
    Ok(())
}

/// Removes what the state says configure added, restoring helpers it replaced.
fn undo(
    plan: &mut FilePlan,
    document: &mut Map<String, Value>,
    state: FileState,
) -> Result<(), ConfigureError> {
    if document.contains_key("credHelpers") {
        let helpers = object_at(document, "credHelpers", &plan.real_path)?;
        for registry in &state.registries {
            if helpers.get(registry).and_then(Value::as_str) != Some(HELPER_SUFFIX) {
                continue; // changed since: not ours to remove
            }
            match state.replaced.get(registry) {
                Some(old) => {
                    plan.changes
                        .push(format!("restore credHelpers[{registry:?}] = {old:?}"));
                    helpers.insert(registry.clone(), Value::String(old.clone()));
                }
                None => {
                    plan.changes
                        .push(format!("remove credHelpers[{registry:?}]"));
                    helpers.remove(registry);
                }
            }
        }
        if state.created_cred_helpers && helpers.is_empty() {
            document.remove("credHelpers");
        }
    }
    plan.state = None;
    Ok(())
}

/// `auths` entries for our registries that hold a password or token in the file itself.
fn find_plaintext(
    plan: &mut FilePlan,
    document: &mut Map<String, Value>,
    registries: &[String],
    canonical: fn(&str) -> String,
) -> Result<(), ConfigureError> {
    if !document.contains_key("auths") {
        return Ok(());
    }
    let auths = object_at(document, "auths", &plan.real_path)?;
    let keys: Vec<String> = auths
        .keys()
        .filter(|key| registries.contains(&canonical(key)))
        .cloned()
        .collect();
    for key in keys {
        let Some(credentials) =
            plaintext(&auths[&key]).map_err(|detail| ConfigureError::BadPlaintext {
                path: plan.real_path.clone(),
                key: key.clone(),
                detail,
            })?
        else {
            continue; // `{}`: docker login leaves that when a helper holds the secret
        };
        plan.plaintext.push(Migration {
            file: plan.real_path.clone(),
            key: canonical(&key),
            auths_key: key,
            username: credentials.0,
            secret: credentials.1,
        });
    }
    Ok(())
}

/// `Ok(None)` for an entry without a secret; `auth` is base64 `user:password`.
pub fn plaintext(entry: &Value) -> Result<Option<(String, Secret)>, String> {
    let text = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(token) = text("identitytoken") {
        return Ok(Some(("<token>".into(), Secret::new(token))));
    }
    if let (Some(user), Some(password)) = (text("username"), text("password")) {
        return Ok(Some((user.to_string(), Secret::new(password))));
    }
    let Some(auth) = text("auth") else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(auth.trim())
        .map_err(|_| "`auth` is not base64".to_string())?;
    let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8".to_string())?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| "`auth` is not user:password".to_string())?;
    Ok(Some((user.to_string(), Secret::new(password))))
}

/// Writes the planned contents: backup first (0600: it may hold plaintext `auths`), then the
/// file, atomically with its mode kept. Run as root (`sudo`), both keep the file's owner and
/// group (a new file and new directories get their parent's), so a user's file stays theirs.
pub fn apply(plan: &FilePlan) -> Result<(), ConfigureError> {
    let io = |source| ConfigureError::Io {
        path: plan.real_path.clone(),
        source,
    };
    let contents = match &plan.outcome {
        Outcome::Unchanged => return Ok(()),
        Outcome::Delete => None,
        Outcome::Write(text) => Some(text),
    };
    let mode = files::mode_of(&plan.real_path).unwrap_or(files::PRIVATE_FILE);
    if let Some(previous) = &plan.backup {
        let backup = backup_path(&plan.real_path);
        let owner = files::owner_for(&plan.real_path);
        files::write_atomic(&backup, previous, files::PRIVATE_FILE)
            .and_then(|()| files::give_to(&backup, owner))
            .map_err(|source| ConfigureError::Io {
                path: backup,
                source,
            })?;
    }
    match contents {
        None => std::fs::remove_file(&plan.real_path).map_err(io),
        Some(text) => {
            if let Some(dir) = plan
                .real_path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                files::create_dirs_like_parent(dir).map_err(io)?;
            }
            let owner = files::owner_for(&plan.real_path);
            files::write_atomic(&plan.real_path, text.as_bytes(), mode)
                .and_then(|()| files::give_to(&plan.real_path, owner))
                .map_err(io)
        }
    }
}

pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

pub fn load_state(dir: &Path) -> Result<State, ConfigureError> {
    let path = dir.join(STATE_FILE);
    match files::read_optional(&path).map_err(|source| ConfigureError::Io {
        path: path.clone(),
        source,
    })? {
        None => Ok(State::default()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|err| ConfigureError::InvalidJson {
            path,
            detail: err.to_string(),
        }),
    }
}

pub fn save_state(dir: &Path, state: &State) -> Result<(), ConfigureError> {
    let path = dir.join(STATE_FILE);
    files::write_private_json(&path, state).map_err(|source| ConfigureError::Io { path, source })
}

/// True when a `docker-credential-deepgram` executable is on this PATH.
pub fn helper_on_path(path_variable: &str) -> bool {
    std::env::split_paths(path_variable).any(|dir| {
        let candidate = dir.join(crate::NAME);
        candidate.is_file() && is_executable(&candidate)
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// A symlink's target (relative targets resolved against the link's directory).
fn resolve_symlink(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..16 {
        match std::fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => {
                current = current
                    .parent()
                    .map_or(target.clone(), |dir| dir.join(&target))
            }
            Err(_) => break,
        }
    }
    current
}

fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Map<String, Value>, ConfigureError> {
    let invalid = |detail: String| ConfigureError::InvalidJson {
        path: path.to_path_buf(),
        detail,
    };
    let Some(bytes) = bytes else {
        return Ok(Map::new());
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text).map_err(|err| invalid(err.to_string()))? {
        Value::Object(map) => Ok(map),
        _ => Err(invalid("the top level is not an object".into())),
    }
}

fn object_at<'a>(
    document: &'a mut Map<String, Value>,
    key: &str,
    path: &Path,
) -> Result<&'a mut Map<String, Value>, ConfigureError> {
    document
        .get_mut(key)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ConfigureError::NotAnObject {
            path: path.to_path_buf(),
            key: key.to_string(),
        })
}

/// Docker's own layout: tab-indented JSON and a final newline.
fn render(document: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(document, &mut serializer).expect("JSON serialises");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &Path) -> Target {
        Target {
            kind: ClientFile::Docker,
            path: path.to_path_buf(),
        }
    }

    fn quay() -> Vec<String> {
        vec!["quay.io".to_string()]
    }

    fn run(path: &Path, options: Options, state: &mut State) -> Result<FilePlan, ConfigureError> {
        run_settled(path, options, state, None)
    }

    /// `held`: what the store holds for every plaintext entry (`None`: --no-migrate).
    fn run_settled(
        path: &Path,
        options: Options,
        state: &mut State,
        held: Option<Held>,
    ) -> Result<FilePlan, ConfigureError> {
        let mut plan = plan(
            target(path),
            &quay(),
            &options,
            state,
            crate::registry::canonical,
        )?;
        settle_plaintext(&mut plan, "the keychain", |_| held.clone());
        apply(&plan)?;
        let key = plan.real_path.display().to_string();
        match &plan.state {
            Some(file_state) => state.files.insert(key, file_state.clone()),
            None => state.files.remove(&key),
        };
        Ok(plan)
    }

    #[test]
    fn a_new_file_is_docker_shaped_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker/config.json");
        run(&path, Options::default(), &mut State::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n\t\"credHelpers\": {\n\t\t\"quay.io\": \"deepgram\"\n\t}\n}\n"
        );
        assert_eq!(files::mode_of(&path), Some(0o600));
        assert_eq!(files::mode_of(&dir.path().join("docker")), Some(0o700));
        assert!(!backup_path(&path).exists(), "nothing to back up");
    }

    #[test]
    fn other_keys_keep_their_values_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"zeta": 1, "auths": {"ghcr.io": {"auth": "dTpw"}}, "credHelpers": {"gcr.io": "gcr"}, "alpha": [true]}"#,
        )
        .unwrap();
        run(&path, Options::default(), &mut State::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n\t\"zeta\": 1,\n\t\"auths\": {\n\t\t\"ghcr.io\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t}\n\t},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcr\",\n\t\t\"quay.io\": \"deepgram\"\n\t},\n\t\"alpha\": [\n\t\ttrue\n\t]\n}\n"
        );
    }

    #[test]
    fn running_twice_changes_nothing_the_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut state = State::default();
        run(&path, Options::default(), &mut state).unwrap();
        let again = run(&path, Options::default(), &mut state).unwrap();
        assert!(!again.changes_anything());
        assert!(again.changes.is_empty());
        assert!(!backup_path(&path).exists(), "no backup churn");
    }

    #[test]
    fn a_foreign_helper_is_refused_unless_forced_and_restored_on_undo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let original = r#"{"credHelpers": {"quay.io": "ecr-login"}}"#;
        std::fs::write(&path, original).unwrap();
        let mut state = State::default();
        let err = run(&path, Options::default(), &mut state)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already uses the credential helper `ecr-login` for quay.io"),
            "{err}"
        );
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);

        let forced = Options {
            force: true,
            ..Options::default()
        };
        run(&path, forced, &mut state).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("\"quay.io\": \"deepgram\"")
        );
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            original
        );

        let undo = Options {
            undo: true,
            ..Options::default()
        };
        run(&path, undo, &mut state).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("\"quay.io\": \"ecr-login\"")
        );
    }

    #[test]
    fn undo_removes_exactly_what_was_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"credsStore": "desktop"}"#).unwrap();
        let mut state = State::default();
        run(&path, Options::default(), &mut state).unwrap();
        let undo = Options {
            undo: true,
            ..Options::default()
        };
        run(&path, undo, &mut state).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n\t\"credsStore\": \"desktop\"\n}\n"
        );
        assert!(state.files.is_empty());

        // a file configure created is removed again
        let fresh = dir.path().join("fresh.json");
        run(&fresh, Options::default(), &mut state).unwrap();
        run(&fresh, undo, &mut state).unwrap();
        assert!(!fresh.exists());
    }

    #[test]
    fn undo_leaves_an_entry_the_user_had_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"credHelpers": {"quay.io": "deepgram"}}"#).unwrap();
        let mut state = State::default();
        run(&path, Options::default(), &mut state).unwrap();
        let undo = Options {
            undo: true,
            ..Options::default()
        };
        let plan = run(&path, undo, &mut state).unwrap();
        assert!(!plan.changes_anything());
        assert!(std::fs::read_to_string(&path).unwrap().contains("deepgram"));
    }

    #[test]
    fn invalid_json_is_named_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        for bad in [
            "{\"credHelpers\": ",
            "[1, 2]",
            "{\"credHelpers\": [\"quay.io\"]}",
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = run(&path, Options::default(), &mut State::default())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&path.display().to_string()), "{err}");
            assert!(err.contains("it was not changed"), "{err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_stays_a_link_and_the_mode_is_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/docker.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "{}").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config.json");
        std::os::unix::fs::symlink("dotfiles/docker.json", &link).unwrap();
        run(&link, Options::default(), &mut State::default()).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(std::fs::read_to_string(&real).unwrap().contains("deepgram"));
        assert_eq!(files::mode_of(&real), Some(0o640));
    }

    #[test]
    fn plaintext_auths_are_reported_or_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        // "alice:pw1" and a username/password form under another spelling; `{}` is not plaintext
        std::fs::write(
            &path,
            r#"{"auths": {"https://quay.io/": {"auth": "YWxpY2U6cHcx"}, "ghcr.io": {"auth": "dTpw"}, "quay.io:443": {}}}"#,
        )
        .unwrap();
        let mut state = State::default();
        let plan = run(&path, Options::default(), &mut state).unwrap();
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(plan.notes[0].contains("without --no-migrate"));
        assert!(plan.migrations.is_empty());

        // the store holds another credential (say, one the helper created): kept, and the
        // file's entry stays too, so no secret is lost
        let other = Held::Other {
            username: "deepgram+1".into(),
        };
        let plan = run_settled(&path, Options::default(), &mut state, Some(other)).unwrap();
        assert!(plan.migrations.is_empty());
        assert!(!plan.changes_anything());
        assert!(
            plan.notes[0].contains("the keychain already holds another credential for quay.io (user deepgram+1): kept that one"),
            "{:?}",
            plan.notes
        );
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("YWxpY2U6cHcx")
        );

        let plan = run_settled(&path, Options::default(), &mut state, Some(Held::Nothing)).unwrap();
        assert_eq!(
            plan.changes,
            [
                "move the plaintext credentials for \"https://quay.io/\" out of this file into the keychain"
            ]
        );
        assert_eq!(plan.migrations.len(), 1);
        assert_eq!(plan.migrations[0].auths_key, "https://quay.io/");
        assert_eq!(plan.migrations[0].username, "alice");
        assert_eq!(plan.migrations[0].secret.expose(), "pw1");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("YWxpY2U6cHcx"), "{text}");
        let backup = std::fs::read_to_string(backup_path(&path)).unwrap();
        assert!(
            !backup.contains("YWxpY2U6cHcx"),
            "the backup drops the moved secret: {backup}"
        );
        assert!(backup.contains("ghcr.io"), "and keeps the rest: {backup}");
        assert!(
            text.contains("ghcr.io") && text.contains("quay.io:443"),
            "{text}"
        );
        assert!(!format!("{plan:?}").contains("pw1"), "no secret in Debug");

        assert_eq!(
            plaintext(&serde_json::json!({"username": "u", "password": "p"}))
                .unwrap()
                .map(|(u, s)| (u, s.expose().to_string())),
            Some(("u".to_string(), "p".to_string()))
        );
        assert!(plaintext(&serde_json::json!({"auth": "!!"})).is_err());
    }

    #[test]
    fn a_duplicate_of_what_the_store_holds_leaves_the_file_without_moving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"auths": {"quay.io": {"auth": "YWxpY2U6cHcx"}}}"#).unwrap();
        let plan = run_settled(
            &path,
            Options::default(),
            &mut State::default(),
            Some(Held::Same),
        )
        .unwrap();
        assert!(plan.migrations.is_empty());
        assert_eq!(
            plan.changes[1],
            "remove the plaintext credentials for \"quay.io\": the keychain already holds the same"
        );
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("YWxpY2U6cHcx")
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_backup_is_private_whatever_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"auths": {"ghcr.io": {"auth": "dTpw"}}}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        run(&path, Options::default(), &mut State::default()).unwrap();
        assert_eq!(
            files::mode_of(&path),
            Some(0o644),
            "the file keeps its mode"
        );
        assert_eq!(files::mode_of(&backup_path(&path)), Some(0o600));
    }

    #[test]
    fn targets_follow_the_clients_variables() {
        let home = Path::new("/home/u");
        let none = |_: &str| None;
        let paths: Vec<_> = targets(&none, home).into_iter().map(|t| t.path).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/home/u/.docker/config.json"),
                PathBuf::from("/home/u/.config/containers/auth.json")
            ]
        );
        let set = |name: &str| match name {
            "DOCKER_CONFIG" => Some("/d".to_string()),
            "XDG_CONFIG_HOME" => Some("/x".to_string()),
            _ => None,
        };
        let paths: Vec<_> = targets(&set, home).into_iter().map(|t| t.path).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/d/config.json"),
                PathBuf::from("/x/containers/auth.json")
            ]
        );
        let auth_file = |name: &str| (name == "REGISTRY_AUTH_FILE").then(|| "/a.json".to_string());
        assert_eq!(targets(&auth_file, home)[1].path, PathBuf::from("/a.json"));
    }

    #[test]
    fn the_path_check_finds_executables_only() {
        let dir = tempfile::tempdir().unwrap();
        let path_var = dir.path().display().to_string();
        assert!(!helper_on_path(&path_var));
        let binary = dir.path().join(crate::NAME);
        std::fs::write(&binary, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert!(!helper_on_path(&path_var));
            std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert!(helper_on_path(&path_var));
    }
}
