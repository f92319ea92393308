//! The human-facing commands (`login`, `logout`, `status`, `configure`, `export`, `kubelet`):
//! each file takes its options as parsed by `cli` (declared there once), does its job through
//! the library modules, and writes its own output. Errors are returned to `app`, which puts them
//! on stderr.

pub mod configure;
pub mod confirm;
pub mod doctor;
pub mod export;
pub mod kubelet;
pub mod login;
pub mod prune;
pub mod revoke;
pub mod rotate;
pub mod status;

use std::path::Path;

use crate::env;

/// The command that saves the API key in a node's state directory (file store), as
/// `configure --kubelet` prints it and the kubelet's no-key error repeats it.
pub fn node_login_command(state_dir: &Path, binary: &str) -> String {
    format!(
        "{}={} {}=file {binary} login < key.txt",
        env::CONFIG_DIR,
        state_dir.display(),
        env::STORE
    )
}
