//! The binary: its version and path, and whether `docker-credential-deepgram` on PATH is this
//! binary (the clients run whatever PATH finds first). Reads only the file system.

use std::path::{Path, PathBuf};

use super::{Check, Context};
use crate::NAME as HELPER_BINARY;

pub fn checks(context: &Context) -> Vec<Check> {
    let this = std::env::current_exe().ok();
    let version = format!("{HELPER_BINARY} {}", env!("CARGO_PKG_VERSION"));
    let mut checks = vec![Check::ok(
        "binary",
        match &this {
            Some(path) => format!("{version} at {}", path.display()),
            None => format!("{version} (its path is unknown)"),
        },
    )];
    let path_variable = (context.var)(crate::env::clients::PATH).unwrap_or_default();
    let found: Vec<PathBuf> = std::env::split_paths(&path_variable)
        .map(|dir| dir.join(HELPER_BINARY))
        .filter(|candidate| is_executable(candidate))
        .collect();
    let same = |candidate: &Path| match (&this, candidate.canonicalize()) {
        (Some(this), Ok(real)) => this.canonicalize().is_ok_and(|t| t == real),
        _ => false,
    };
    let install = this
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| HELPER_BINARY.to_string());
    checks.push(match found.first() {
        None => Check::fail(
            "path",
            format!("{HELPER_BINARY} is not on PATH: docker, podman, skopeo and the kubelet cannot run it"),
            format!("install it into a directory on PATH, e.g. `sudo install -m 0755 {install} /usr/local/bin/`; under sudo, PATH is sudo's secure_path"),
        ),
        Some(first) if same(first) => Check::ok(
            "path",
            format!("{} is this binary", first.display()),
        ),
        Some(first) => Check::warn(
            "path",
            format!(
                "PATH runs {} first, another copy that shadows this binary{}",
                first.display(),
                if found.iter().any(|c| same(c)) { "" } else { " (this binary is not on PATH)" }
            ),
            format!("remove or replace {} with this binary, or put this binary's directory earlier in PATH", first.display()),
        ),
    });
    checks
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
