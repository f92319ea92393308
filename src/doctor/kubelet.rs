//! The kubelet's credential provider config (when it exists): it names this binary with
//! `args: [kubelet]` and its `matchImages` cover the provisioning registries. A plain text
//! reading of the YAML `configure --kubelet` writes; reads only.

use std::path::PathBuf;

use super::{Check, Options};
use crate::NAME as HELPER_BINARY;

/// Where `configure --kubelet` writes it by default.
pub const DEFAULT_CONFIG: &str = "/etc/kubernetes/credential-provider.yaml";

pub fn check(options: &Options, registries: &[String]) -> Check {
    let path = options
        .kubelet_config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Check::skip(
                "kubelet",
                format!("no kubelet provider config at {}", path.display()),
            );
        }
        Err(err) => {
            return Check::fail(
                "kubelet",
                format!("cannot read {}: {err}", path.display()),
                "run doctor as a user who can read it (e.g. with sudo)",
            );
        }
    };
    let fix = "run `docker-credential-deepgram configure --kubelet --dry-run` and merge its output";
    let names_us = text.lines().any(|line| {
        let line = line.trim().trim_start_matches("- ").trim();
        line.strip_prefix("name:")
            .is_some_and(|name| name.trim().trim_matches(['"', '\'']) == HELPER_BINARY)
    });
    if !names_us {
        return Check::fail(
            "kubelet",
            format!("{} names no provider `{HELPER_BINARY}`", path.display()),
            fix,
        );
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let has_args = compact.contains("args:[kubelet]")
        || compact.contains("args:[\"kubelet\"]")
        || compact.contains("args:-kubelet")
        || compact.contains("args:-\"kubelet\"");
    if !has_args {
        return Check::fail(
            "kubelet",
            format!(
                "{} runs {HELPER_BINARY} without `args: [kubelet]`",
                path.display()
            ),
            fix,
        );
    }
    let missing: Vec<&str> = registries
        .iter()
        .map(|r| r.split('/').next().unwrap_or(r))
        .filter(|host| {
            !text.contains(&format!("\"{host}\"")) && !text.contains(&format!("- {host}"))
        })
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            "kubelet",
            format!(
                "{}: matchImages does not cover {}",
                path.display(),
                missing.join(", ")
            ),
            fix,
        );
    }
    Check::ok(
        "kubelet",
        format!(
            "{} runs {HELPER_BINARY} kubelet for {}",
            path.display(),
            registries.join(", ")
        ),
    )
}
