//! The clients' config files: Docker's `config.json` and the containers tools' auth files, in
//! the order each client reads them. Reads only; the fix for a missing route is `configure`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Check, Context};
use crate::client_config::{HELPER_SUFFIX, Held};
use crate::env::clients::{DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_CONFIG_HOME};
use crate::registry::canonical;
use crate::secret::Secret;

const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
const CONFIGURE: &str = "run `docker-credential-deepgram configure`";

/// What the store holds for a registry, compared with a plaintext login (registry key,
/// username, secret); `None` when the store cannot tell.
pub type Holds<'a> = &'a dyn Fn(&str, &str, &Secret) -> Option<Held>;

pub fn checks(context: &Context, registries: &[String], holds: Holds) -> Vec<Check> {
    vec![
        docker(context, registries, holds),
        containers(context, registries),
    ]
}

fn docker_path(context: &Context) -> PathBuf {
    match (context.var)(DOCKER_CONFIG) {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => context.home.join(".docker/config.json"),
    }
}

/// A client file as JSON: `Ok(None)` when it does not exist.
fn read(path: &Path) -> Result<Option<Map<String, Value>>, String> {
    let bytes = match crate::files::read_optional(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(format!("{} is not a JSON object", path.display())),
        Err(err) => Err(format!("{} is not valid JSON ({err})", path.display())),
    }
}

/// The value of `section[registry]`, matching keys as clients do (scheme and `/v1/` ignored).
fn entry<'a>(document: &'a Map<String, Value>, section: &str, registry: &str) -> Option<&'a Value> {
    document
        .get(section)?
        .as_object()?
        .iter()
        .find(|(key, _)| canonical(key) == registry)
        .map(|(_, value)| value)
}

fn has_plaintext(document: &Map<String, Value>, registry: &str) -> bool {
    entry(document, "auths", registry).is_some_and(|auth| {
        ["auth", "password", "identitytoken"].iter().any(|field| {
            auth.get(*field)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        })
    })
}

fn docker(context: &Context, registries: &[String], holds: Holds) -> Check {
    let path = docker_path(context);
    let document = match read(&path) {
        Ok(Some(document)) => document,
        Ok(None) => {
            return Check::fail(
                "docker",
                format!(
                    "{} does not exist: docker does not use this helper",
                    path.display()
                ),
                CONFIGURE,
            );
        }
        Err(message) => {
            return Check::fail(
                "docker",
                message,
                "fix or remove the file, then run `docker-credential-deepgram configure`",
            );
        }
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    for registry in registries {
        match entry(&document, "credHelpers", registry).and_then(Value::as_str) {
            Some(HELPER_SUFFIX) => {}
            Some(other) => {
                problems.push(format!(
                    "credHelpers sends {registry} to `{other}`, not `{HELPER_SUFFIX}`"
                ));
                fixes.push("run `docker-credential-deepgram configure --force`".to_string());
            }
            None => {
                problems.push(format!(
                    "credHelpers does not route {registry} to `{HELPER_SUFFIX}`"
                ));
                fixes.push(CONFIGURE.to_string());
            }
        }
    }
    let plaintext: Vec<&str> = registries
        .iter()
        .filter(|r| has_plaintext(&document, r))
        .map(String::as_str)
        .collect();
    let stores = match document.get("credsStore").and_then(Value::as_str) {
        Some(store) => format!("; credsStore `{store}` keeps docker's logins to other registries"),
        None => String::new(),
    };
    if !problems.is_empty() {
        fixes.dedup();
        return Check::fail(
            "docker",
            format!("{}: {}{stores}", path.display(), problems.join("; ")),
            fixes.join("; "),
        );
    }
    if !plaintext.is_empty() {
        let mut fixes = Vec::new();
        for registry in &plaintext {
            fixes.push(plaintext_fix(&path, &document, registry, holds));
        }
        fixes.dedup();
        return Check::warn(
            "docker",
            format!(
                "{} routes {} to the helper, but `auths` still holds a plaintext secret for {}{stores}",
                path.display(),
                registries.join(", "),
                plaintext.join(", ")
            ),
            fixes.join("; "),
        );
    }
    Check::ok(
        "docker",
        format!(
            "{} routes {} to the helper{stores}",
            path.display(),
            registries.join(", ")
        ),
    )
}

/// The one action that resolves a plaintext `auths` entry the helper shadows: `configure`
/// moves it (or drops it as a duplicate) when the store holds nothing else for the registry;
/// when the store holds another credential, configure keeps both, so the entry is deleted by
/// hand (it is unused: the stored credential answers).
fn plaintext_fix(
    path: &Path,
    document: &Map<String, Value>,
    registry: &str,
    holds: Holds,
) -> String {
    let configure = "run `docker-credential-deepgram configure`, which moves it into the store";
    let Some((auths_key, value)) = document
        .get("auths")
        .and_then(Value::as_object)
        .and_then(|auths| auths.iter().find(|(key, _)| canonical(key) == registry))
    else {
        return configure.to_string();
    };
    let Ok(Some((username, secret))) = crate::client_config::plaintext(value) else {
        return format!(
            "delete `auths[\"{auths_key}\"]` from {} by hand: it cannot be read, and the helper answers for {registry}",
            path.display()
        );
    };
    match holds(registry, &username, &secret) {
        Some(Held::Other { username: stored }) => format!(
            "delete `auths[\"{auths_key}\"]` (the login of user {username}) from {} by hand: the helper answers for {registry} with the stored credential of user {stored}, so that entry is unused and only keeps a secret in the file",
            path.display()
        ),
        Some(Held::Same) => "run `docker-credential-deepgram configure`, which removes it (the store holds the same credential)".to_string(),
        Some(Held::Nothing) | None => configure.to_string(),
    }
}

/// The containers tools' files in the order they read them.
fn containers_paths(context: &Context) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(file) = (context.var)(REGISTRY_AUTH_FILE) {
        paths.push(PathBuf::from(file));
    }
    if let Some(runtime) = (context.var)(XDG_RUNTIME_DIR) {
        paths.push(PathBuf::from(runtime).join("containers/auth.json"));
    }
    paths.push(match (context.var)(XDG_CONFIG_HOME) {
        Some(config) => PathBuf::from(config).join("containers/auth.json"),
        None => context.home.join(".config/containers/auth.json"),
    });
    paths.push(docker_path(context));
    paths
}

fn containers(context: &Context, registries: &[String]) -> Check {
    let paths = containers_paths(context);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut routes = Vec::new();
    for registry in registries {
        let mut decided = false;
        for path in &paths {
            let document = match read(path) {
                Ok(Some(document)) => document,
                Ok(None) => continue,
                Err(message) => {
                    problems.push(message);
                    fixes.push(format!("fix or remove {}", path.display()));
                    decided = true;
                    break;
                }
            };
            // Within one file, credHelpers wins over auths (containers/image).
            match entry(&document, "credHelpers", registry).and_then(Value::as_str) {
                Some(HELPER_SUFFIX) => {
                    routes.push(format!("{registry} via {}", path.display()));
                    decided = true;
                    break;
                }
                Some(other) => {
                    problems.push(format!(
                        "{} sends {registry} to the helper `{other}` before any file routes it here",
                        path.display()
                    ));
                    fixes.push(format!(
                        "remove credHelpers[\"{registry}\"] from {}",
                        path.display()
                    ));
                    decided = true;
                    break;
                }
                None => {}
            }
            if entry(&document, "auths", registry).is_some() {
                problems.push(format!(
                    "{} holds an `auths` entry for {registry} (e.g. from an old `podman login {registry}`) that podman, skopeo and buildah use instead of the helper",
                    path.display()
                ));
                fixes.push(format!(
                    "run `podman logout --authfile {} {registry}` or remove the entry",
                    path.display()
                ));
                decided = true;
                break;
            }
        }
        if !decided {
            problems.push(format!(
                "no containers auth file routes {registry} to `{HELPER_SUFFIX}`"
            ));
            fixes.push(CONFIGURE.to_string());
        }
    }
    if problems.is_empty() {
        Check::ok(
            "containers",
            format!(
                "podman, skopeo and buildah use the helper for {}",
                routes.join(", ")
            ),
        )
    } else {
        fixes.dedup();
        Check::fail("containers", problems.join("; "), fixes.join("; "))
    }
}
