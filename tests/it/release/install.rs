//! `install.sh` as a newcomer runs it: build, install under PREFIX, configure the clients;
//! again (idempotent); then `--uninstall`. HOME is a temp dir; cargo keeps its own home.
//! With `DEEPGRAM_API_KEY` set, install saves the key, so a later shell without it provisions;
//! `--uninstall` forgets the key and says what remains; `--uninstall --purge` erases it all,
//! even after the binary is gone.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::fake_deepgram::FakeDeepgram;

fn install(home: &Path, prefix: &Path, args: &[&str]) -> Output {
    install_with(home, prefix, args, &[])
}

fn install_with(home: &Path, prefix: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    install_command(home, prefix, args, vars).output().unwrap()
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
    // The key was forgotten by the first --uninstall: the remote credential is named, not
    // silently left behind.
    assert!(
        stderr(&purged).contains("delete them in the Deepgram Console")
            && stderr(&purged).contains("5ec5ec5e-0000-4000-8000-0000000000bb"),
        "{purged:?}"
    );
    assert_eq!(fake.credential_ids().len(), 1);
}

#[test]
fn uninstall_purge_deletes_this_installs_credentials_with_the_saved_key_before_forgetting_it() {
    let fake = FakeDeepgram::start();
    fake.set_credential("5ec5ec5e-0000-4000-8000-0000000000cc", "PURGESECRET");
    let hand_made = fake.insert_credential("made by hand", "2024-01-01T00:00:00Z");
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let binary = prefix.path().join("bin/docker-credential-deepgram");
    let key = fake.api_key();
    let url = fake.url();
    let with_key = [
        ("DEEPGRAM_API_KEY", key.as_str()),
        ("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", url.as_str()),
    ];
    let installed = install_with(home.path(), prefix.path(), &["--no-configure"], &with_key);
    assert!(installed.status.success(), "{installed:?}");
    let get = helper(&binary, home.path(), &url, &["get"], "quay.io");
    assert!(get.status.success(), "{get:?}");

    // A later shell without the variable: the saved key deletes the remote credential.
    let url_only = [("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", url.as_str())];
    let purged = install_with(
        home.path(),
        prefix.path(),
        &["--uninstall", "--purge"],
        &url_only,
    );
    assert!(purged.status.success(), "{purged:?}");
    let told = stderr(&purged);
    assert!(
        told.contains(
            "deleted 1 Deepgram credential(s) of this install: 5ec5ec5e-0000-4000-8000-0000000000cc"
        ),
        "{told}"
    );
    assert!(
        told.contains("removed the saved Deepgram API key"),
        "{told}"
    );
    assert_eq!(fake.credential_ids(), vec![hand_made]);
    assert!(!binary.exists());
    let config_dir = home.path().join(".config/docker-credential-deepgram");
    assert!(files_containing(&config_dir, &key).is_empty());
    assert!(files_containing(&config_dir, "PURGESECRET").is_empty());
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

#[test]
fn help_prints_the_usage_and_touches_nothing() {
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    for flag in ["--help", "-h"] {
        let help = install(home.path(), prefix.path(), &[flag]);
        assert!(help.status.success(), "{help:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.starts_with("Usage: ./install.sh "), "{text}");
        for option in [
            "--no-configure",
            "--api-key-file",
            "--api-key-stdin",
            "--uninstall",
            "--purge",
            "DEEPGRAM_API_KEY",
            "PREFIX",
        ] {
            assert!(text.contains(option), "{option}: {text}");
        }
        assert!(!text.contains("set -euo") && !text.contains("# "), "{text}");
        assert_eq!(stderr(&help), "");
    }
    assert!(std::fs::read_dir(prefix.path()).unwrap().next().is_none());
    let unknown = install(home.path(), prefix.path(), &["--frobnicate"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("./install.sh --help"),
        "{unknown:?}"
    );
}

/// Runs `command` on a new pseudo-terminal (its stdin, stdout and stderr, and its controlling
/// terminal), types `input` once `prompt` has appeared, and returns the exit code and
/// everything the terminal showed.
fn on_terminal(command: Command, prompt: &str, input: &str) -> (i32, String) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let (mut child, master) = support::spawn_on_terminal(command);
    let mut reader = master.try_clone().unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let collector = {
        let shown = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends with EIO once the last process holding the terminal has exited.
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    // The build before the prompt can take minutes the first time.
    let deadline = Instant::now() + Duration::from_secs(900);
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains(prompt) {
        assert!(
            Instant::now() < deadline,
            "no prompt {prompt:?}: {}",
            String::from_utf8_lossy(&shown.lock().unwrap())
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "exited ({status}) before prompting: {}",
                String::from_utf8_lossy(&shown.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut writer = master;
    writer.write_all(input.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    drop(writer);
    collector.join().unwrap();
    let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    (status.code().unwrap_or(-1), text)
}

fn install_command(home: &Path, prefix: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let real_home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let mut command = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home)
        .env(
            "CARGO_HOME",
            std::env::var("CARGO_HOME")
                .unwrap_or_else(|_| real_home.join(".cargo").display().to_string()),
        )
        .env(
            "RUSTUP_HOME",
            std::env::var("RUSTUP_HOME")
                .unwrap_or_else(|_| real_home.join(".rustup").display().to_string()),
        )
        .env("PREFIX", prefix)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        command.env("CARGO_TARGET_DIR", target);
    }
    command.envs(vars.iter().copied());
    command
}

/// The key saved in `home`'s file store, as `get` would use it: a get provisions with it.
fn provisions_with_the_saved_key(binary: &Path, home: &Path, fake: &FakeDeepgram) {
    let get = helper(binary, home, &fake.url(), &["erase"], "quay.io");
    assert!(get.status.success(), "{get:?}");
    let before = fake.creates();
    let get = helper(binary, home, &fake.url(), &["get"], "quay.io");
    assert!(get.status.success(), "{get:?}");
    assert_eq!(fake.creates(), before + 1, "{get:?}");
}

#[test]
fn the_key_stays_out_of_the_shell_history_and_a_rerun_keeps_a_saved_key() {
    let fake = FakeDeepgram::start();
    let key = fake.api_key();
    let url = fake.url();
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let binary = prefix.path().join("bin/docker-credential-deepgram");
    let api = [("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", url.as_str())];
    let config_dir = home.path().join(".config/docker-credential-deepgram");

    // On a terminal, without the variable: asked without echo.
    let (code, shown) = on_terminal(
        install_command(home.path(), prefix.path(), &["--no-configure"], &api),
        "Deepgram API key (input hidden; Enter alone skips): ",
        &format!("{key}\n"),
    );
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains(&key), "the key was echoed: {shown}");
    assert!(shown.contains("the API key is saved"), "{shown}");
    provisions_with_the_saved_key(&binary, home.path(), &fake);

    // A re-run without the variable finds the saved key and says so (no prompt: stdin is not a
    // terminal here, and a saved key is not asked for again anyway).
    let again = install_with(home.path(), prefix.path(), &["--no-configure"], &api);
    assert!(again.status.success(), "{again:?}");
    let told = stderr(&again);
    assert!(
        told.contains(&format!(
            "kept the Deepgram API key saved earlier by login (in {})",
            config_dir.join("credentials.json").display()
        )),
        "{told}"
    );
    assert!(!told.contains("next: run"), "{told}");

    // From a file, and from stdin: after a logout, each saves the key again.
    let key_file = home.path().join("key.txt");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let logout = helper(&binary, home.path(), &url, &["logout"], "");
    assert!(logout.status.success(), "{logout:?}");
    let key_path = key_file.display().to_string();
    let from_file = install_with(
        home.path(),
        prefix.path(),
        &["--no-configure", "--api-key-file", &key_path],
        &api,
    );
    assert!(from_file.status.success(), "{from_file:?}");
    assert!(stderr(&from_file).contains("the API key is saved"));
    provisions_with_the_saved_key(&binary, home.path(), &fake);

    helper(&binary, home.path(), &url, &["logout"], "");
    let mut piped = install_command(
        home.path(),
        prefix.path(),
        &["--no-configure", "--api-key-stdin"],
        &api,
    );
    piped
        .stdin(std::fs::File::open(&key_file).unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let from_stdin = piped.output().unwrap();
    assert!(from_stdin.status.success(), "{from_stdin:?}");
    assert!(stderr(&from_stdin).contains("the API key is saved"));
    provisions_with_the_saved_key(&binary, home.path(), &fake);
    for output in [&again, &from_file, &from_stdin] {
        assert!(!stderr(output).contains(&key));
        assert!(!String::from_utf8_lossy(&output.stdout).contains(&key));
    }

    // No key anywhere and no terminal: the next step is `login`.
    helper(&binary, home.path(), &url, &["logout"], "");
    let none = install_with(home.path(), prefix.path(), &["--no-configure"], &api);
    assert!(none.status.success(), "{none:?}");
    assert!(stderr(&none).contains("next: run 'docker-credential-deepgram login'"));
}

#[test]
fn uninstall_with_a_broken_config_toml_undoes_the_clients_and_says_what_to_fix() {
    let home = tempfile::tempdir().unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let binary = prefix.path().join("bin/docker-credential-deepgram");
    let docker = home.path().join(".docker/config.json");
    let installed = install(home.path(), prefix.path(), &[]);
    assert!(installed.status.success(), "{installed:?}");
    assert!(docker.exists());
    let config = home
        .path()
        .join(".config/docker-credential-deepgram/config.toml");
    std::fs::write(&config, "store = \"file\"\nstore = \"keyring\"\n").unwrap();

    let removed = install(home.path(), prefix.path(), &["--uninstall"]);
    let told = stderr(&removed);
    assert_eq!(removed.status.code(), Some(1), "{removed:?}");
    assert!(!docker.exists(), "configure --undo ran: {told}");
    assert!(
        told.contains("warning:") && told.contains("key `store` is set twice"),
        "{told}"
    );
    assert!(
        told.contains("so ")
            && told.contains("is kept")
            && told.contains("./install.sh --uninstall again"),
        "{told}"
    );
    assert!(binary.exists());

    // The advice, followed: fix config.toml, run it again.
    std::fs::write(&config, "store = \"file\"\n").unwrap();
    let again = install(home.path(), prefix.path(), &["--uninstall"]);
    assert!(again.status.success(), "{again:?}");
    assert!(!binary.exists());
}
