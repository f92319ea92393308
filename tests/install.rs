//! `install.sh` as a newcomer runs it: build, install under PREFIX, configure the clients;
//! again (idempotent); then `--uninstall`. HOME is a temp dir; cargo keeps its own home.

use std::path::{Path, PathBuf};
use std::process::Command;

fn install(home: &Path, prefix: &Path, args: &[&str]) -> std::process::Output {
    let real_home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| real_home.join(".cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| real_home.join(".rustup"));
    let mut command = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("PREFIX", prefix)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        command.env("CARGO_TARGET_DIR", target);
    }
    command.output().unwrap()
}

#[test]
fn install_configures_reruns_cleanly_and_uninstalls() {
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let binary = prefix.path().join("bin/docker-credential-deepgram");
    let docker = home.path().join(".docker/config.json");
    let containers = home.path().join(".config/containers/auth.json");

    let first = install(home.path(), prefix.path(), &[]);
    let log = format!("{first:?}");
    assert!(first.status.success(), "{log}");
    assert!(binary.is_file(), "{log}");
    for file in [&docker, &containers] {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("\"quay.io\": \"deepgram\""),
            "{file:?}: {text}"
        );
    }
    let version = Command::new(&binary).arg("version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("docker-credential-deepgram "));

    let again = install(home.path(), prefix.path(), &[]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .matches("already configured")
            .count(),
        2
    );

    let removed = install(home.path(), prefix.path(), &["--uninstall"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(!binary.exists());
    assert!(
        !docker.exists() && !containers.exists(),
        "configure's files undone"
    );

    let skipped = install(home.path(), prefix.path(), &["--no-configure"]);
    assert!(skipped.status.success(), "{skipped:?}");
    assert!(binary.is_file() && !docker.exists());
}
