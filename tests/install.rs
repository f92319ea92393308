//! `install.sh` as a newcomer runs it: build, install under PREFIX, configure the clients;
//! again (idempotent); then `--uninstall`. HOME is a temp dir; cargo keeps its own home.
//! With `DEEPGRAM_API_KEY` set, install saves the key, so a later shell without it provisions;
//! `--uninstall` forgets the key and says what remains; `--uninstall --purge` erases it all,
//! even after the binary is gone.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::fake_deepgram::FakeDeepgram;

fn install(home: &Path, prefix: &Path, args: &[&str]) -> Output {
    install_with(home, prefix, args, &[])
}

fn install_with(home: &Path, prefix: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
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
    command.envs(vars.iter().copied());
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The installed helper as a client runs it later: a shell without `DEEPGRAM_API_KEY`.
fn helper(binary: &Path, home: &Path, api_url: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file")
        .env("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", api_url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every file under `root` whose bytes contain `needle`.
fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn install_keeps_the_key_and_uninstall_leaves_nothing_behind_unless_asked() {
    let fake = FakeDeepgram::start();
    fake.set_credential("5ec5ec5e-0000-4000-8000-0000000000bb", "INSTALLSECRET");
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let binary = prefix.path().join("bin/docker-credential-deepgram");
    let key = fake.api_key();
    let url = fake.url();
    let vars = [
        ("DEEPGRAM_API_KEY", key.as_str()),
        ("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", url.as_str()),
    ];

    let installed = install_with(home.path(), prefix.path(), &["--no-configure"], &vars);
    assert!(installed.status.success(), "{installed:?}");
    assert!(
        String::from_utf8_lossy(&installed.stdout).contains("it sees 1 project(s): Test Project"),
        "{installed:?}"
    );
    assert!(
        stderr(&installed).contains("the API key is saved"),
        "{installed:?}"
    );
    assert!(
        !stderr(&installed).contains(&key)
            && !String::from_utf8_lossy(&installed.stdout).contains(&key)
    );

    // A later shell, without the variable: the saved key provisions on the first get.
    let get = helper(&binary, home.path(), &url, &["get"], "quay.io");
    assert!(get.status.success(), "{get:?}");
    assert!(String::from_utf8_lossy(&get.stdout).contains("INSTALLSECRET"));
    assert_eq!(fake.creates(), 1);

    let config_dir = home.path().join(".config/docker-credential-deepgram");
    let removed = install(home.path(), prefix.path(), &["--uninstall"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(!binary.exists());
    assert!(
        files_containing(&config_dir, &key).is_empty(),
        "the API key stays behind"
    );
    let told = stderr(&removed);
    assert!(
        told.contains("removed the saved Deepgram API key"),
        "{told}"
    );
    assert!(
        told.contains("stored credentials remain") && told.contains("quay.io"),
        "{told}"
    );
    assert!(told.contains("./install.sh --uninstall --purge"), "{told}");
    assert!(!told.contains("docker logout"), "{told}");
    assert_eq!(files_containing(&config_dir, "INSTALLSECRET").len(), 1);

    // The advice works after the binary is gone.
    let purged = install(home.path(), prefix.path(), &["--uninstall", "--purge"]);
    assert!(purged.status.success(), "{purged:?}");
    assert!(
        stderr(&purged).contains("erased the stored credential for quay.io"),
        "{purged:?}"
    );
    assert!(files_containing(&config_dir, "INSTALLSECRET").is_empty());
    assert!(
        !stderr(&purged).contains("stored credentials remain"),
        "{purged:?}"
    );
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
