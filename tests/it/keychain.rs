//! The secret backends against real parts: gnome-keyring's Secret Service on a private
//! D-Bus session, and the file store where no keychain is reachable.

use crate::support;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::{BIN, STORE, SecretService, TestEnv, finish, get_json, mode, spawn_with_input};

const NOT_FOUND: &str = "credentials not found in native keychain\n";

#[test]
fn secrets_go_to_the_secret_service_and_nowhere_else() {
    let env = TestEnv::keyring();
    let secret = "keychain-only-secret-31d7";
    let stored = env.store("https://quay.io", "alice", secret);
    assert_eq!((stored.code, stored.stderr.as_str()), (0, ""), "{stored:?}");
    assert_eq!(
        env.get("quay.io").stdout,
        get_json("quay.io", "alice", secret)
    );
    assert_eq!(
        env.run(&["list"], b"unused").stdout,
        "{\"https://quay.io\":\"alice\"}\n"
    );

    let items = env.keyring.as_ref().unwrap().items();
    assert!(
        items.contains("attribute.username = registry:quay.io"),
        "{items}"
    );
    assert!(items.contains(secret), "the keychain holds it: {items}");
    assert!(
        !env.config_dir().join("credentials.json").exists(),
        "no file store"
    );
    assert_eq!(
        env.files_containing(secret),
        Vec::<std::path::PathBuf>::new()
    );

    env.run(&["erase"], b"quay.io").ok();
    assert_eq!(env.get("quay.io").stdout, NOT_FOUND);
    let items = env.keyring.as_ref().unwrap().items();
    assert!(!items.contains("registry:quay.io"), "{items}");
}

#[test]
fn keychain_items_use_the_keyring_rs_attributes() {
    let env = TestEnv::keyring();
    env.store("localhost:5000", "u", "p").ok();
    let items = env.keyring.as_ref().unwrap().items();
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("index.json")).unwrap(),
    )
    .unwrap();
    let install = index["install_id"].as_str().unwrap();
    assert!(
        items.contains(&format!(
            "label = keyring:registry:localhost:5000 [dcd:{install}]@docker-credential-deepgram"
        )),
        "{items}"
    );
    assert!(
        items.contains("attribute.service = docker-credential-deepgram"),
        "{items}"
    );
}

#[test]
fn a_locked_keychain_is_an_error_that_says_so_not_not_found() {
    let mut env = TestEnv::keyring();
    env.store("quay.io", "alice", "pw").ok();
    env.keyring.as_mut().unwrap().lock();

    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert_ne!(got.stdout, NOT_FOUND);
    assert!(got.stdout.starts_with("the keychain is locked"), "{got:?}");
    assert!(got.stdout.contains("unlock"), "says how: {got:?}");
    assert!(got.stderr.contains("the keychain is locked"), "{got:?}");

    let stored = env.store("other.example", "bob", "pw2");
    assert_eq!(stored.code, 1);
    assert!(
        stored.stdout.starts_with("the keychain is locked"),
        "{stored:?}"
    );
    assert_eq!(
        env.run(&["list"], b"").stdout,
        "{\"quay.io\":\"alice\"}\n",
        "index unchanged"
    );
}

#[test]
fn no_keychain_falls_back_to_the_file_store_with_one_warning() {
    let env = TestEnv::without_keychain();
    let secret = "fallback-secret-88aa";
    let stored = env.store("quay.io", "alice", secret);
    assert_eq!(stored.code, 0, "{stored:?}");
    assert_eq!(stored.stderr.lines().count(), 1, "one warning: {stored:?}");
    let warning = &stored.stderr;
    assert!(
        warning.contains("warning: no keychain is reachable"),
        "{warning}"
    );
    assert!(
        warning.contains("credentials.json"),
        "names the file: {warning}"
    );
    assert!(
        warning.contains("set store = \"file\" in"),
        "the lasting fix: {warning}"
    );
    assert!(!warning.contains(secret));

    let got = env.get("quay.io");
    assert_eq!(got.stdout, get_json("quay.io", "alice", secret));
    let file = env.config_dir().join("credentials.json");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(env.files_containing(secret), vec![file]);
}

#[test]
fn choosing_the_file_store_explicitly_is_silent() {
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    let stored = env.store("quay.io", "alice", "pw");
    assert_eq!((stored.code, stored.stderr.as_str()), (0, ""));
}

#[test]
fn store_keyring_makes_a_missing_keychain_an_error() {
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    let stored = env.store("quay.io", "alice", "pw");
    assert_eq!(stored.code, 1);
    assert!(
        stored.stdout.starts_with("no keychain is reachable"),
        "{stored:?}"
    );
    assert!(
        stored
            .stdout
            .contains("DOCKER_CREDENTIAL_DEEPGRAM_STORE=file"),
        "{stored:?}"
    );
    assert!(!env.config_dir().join("credentials.json").exists());

    // the same through config.toml
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_STORE");
    std::fs::write(
        env.config_dir().join("config.toml"),
        "store = \"keyring\"\n",
    )
    .unwrap();
    assert_eq!(env.store("quay.io", "alice", "pw").code, 1);
}

#[test]
fn a_credential_stored_in_the_file_survives_a_keychain_appearing() {
    let mut env = TestEnv::without_keychain();
    env.store("quay.io", "alice", "from-file").ok();
    env.keyring = Some(SecretService::start());
    assert_eq!(
        env.get("quay.io").stdout,
        get_json("quay.io", "alice", "from-file")
    );
    // erase removes it wherever it is
    env.run(&["erase"], b"quay.io").ok();
    assert_eq!(env.get("quay.io").stdout, NOT_FOUND);
}

/// Runs `count` helpers at once (bounded), each storing its own registry, then reading it back.
fn parallel_store_and_get(env: &TestEnv, count: usize) {
    let stores: Vec<_> = (0..count)
        .map(|i| {
            let json = format!(
                "{{\"ServerURL\":\"r{i}.example\",\"Username\":\"u{i}\",\"Secret\":\"s{i}\"}}\n"
            );
            env.spawn(&["store"], json.as_bytes())
        })
        .collect();
    for child in stores {
        finish(child).ok();
    }
    let gets: Vec<_> = (0..count)
        .map(|i| env.spawn(&["get"], format!("r{i}.example").as_bytes()))
        .collect();
    for (i, child) in gets.into_iter().enumerate() {
        assert_eq!(
            finish(child).stdout,
            get_json(&format!("r{i}.example"), &format!("u{i}"), &format!("s{i}"))
        );
    }
    let listed: serde_json::Value =
        serde_json::from_str(&env.run(&["list"], b"").stdout).expect("index is valid JSON");
    assert_eq!(
        listed.as_object().unwrap().len(),
        count,
        "every store is in the index: {listed}"
    );
}

#[test]
fn parallel_helpers_do_not_corrupt_the_file_store_or_index() {
    parallel_store_and_get(&TestEnv::file_store(), 32);
}

#[test]
fn parallel_helpers_do_not_corrupt_the_keychain_or_index() {
    parallel_store_and_get(&TestEnv::keyring(), 24);
}

/// A second config dir on the same keychain (another install for the same user).
fn second_install_on(env: &TestEnv) -> TestEnv {
    let mut other = TestEnv::without_keychain();
    for (name, value) in env.keyring.as_ref().unwrap().env() {
        if name != "HOME" && name != "PATH" {
            other.set(&name, &value);
        }
    }
    other.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    other
}

#[test]
fn two_config_dirs_on_one_keychain_see_and_erase_only_their_own() {
    let mut first = TestEnv::keyring();
    first.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    let second = second_install_on(&first);
    first.store("quay.io", "alice", "first-secret").ok();
    // The second install does not answer the first one's credential...
    assert_eq!(second.get("quay.io").stdout, NOT_FOUND);
    second.store("quay.io", "bob", "second-secret").ok();
    assert_eq!(
        first.get("quay.io").stdout,
        get_json("quay.io", "alice", "first-secret")
    );
    // ...and its erase leaves the first one's alone.
    second.run(&["erase"], b"quay.io").ok();
    assert_eq!(second.get("quay.io").stdout, NOT_FOUND);
    assert_eq!(
        first.get("quay.io").stdout,
        get_json("quay.io", "alice", "first-secret")
    );
    let items = first.keyring.as_ref().unwrap().items();
    assert!(
        items.contains("first-secret") && !items.contains("second-secret"),
        "{items}"
    );
}

#[test]
fn an_item_stored_by_an_earlier_version_is_still_answered_and_erased_when_the_index_names_it() {
    let mut env = TestEnv::keyring();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    let keyring = env.keyring.as_ref().unwrap();
    // What an earlier version left: the unscoped item and an index entry naming it.
    let record = r#"{"username":"alice","secret":"old-secret"}"#;
    let mut secret_tool = Command::new("secret-tool");
    secret_tool
        .args([
            "store",
            "--label=keyring:registry:quay.io@docker-credential-deepgram",
            "service",
            "docker-credential-deepgram",
            "username",
            "registry:quay.io",
        ])
        .env_clear()
        .envs(keyring.env());
    finish(spawn_with_input(&mut secret_tool, record.as_bytes())).ok();
    // Another install's index does not name it: not answered.
    let other = second_install_on(&env);
    assert_eq!(other.get("quay.io").stdout, NOT_FOUND);
    std::fs::write(
        env.config_dir().join("index.json"),
        r#"{"version":1,"entries":{"quay.io":{"server_url":"quay.io","username":"alice","backend":"keyring"}}}"#,
    )
    .unwrap();
    assert_eq!(
        env.get("quay.io").stdout,
        get_json("quay.io", "alice", "old-secret")
    );
    env.run(&["erase"], b"quay.io").ok();
    assert_eq!(env.get("quay.io").stdout, NOT_FOUND);
    assert!(!keyring.items().contains("old-secret"));
}

/// The harness cannot lie: a keyring that dies mid-run (here SIGTRAP, what a GLib `g_error()`
/// raises) fails the test with the signal and the daemon's log, the helper with `store =
/// keyring` fails too instead of falling back to the file store, and the private bus activates
/// no other keyring, so nothing appears under the runner's real HOME.
#[test]
fn a_keyring_that_dies_mid_run_fails_the_harness_with_the_signal_and_its_log() {
    let real_keyrings = PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
        .join(".local/share/keyrings");
    let before = listing(&real_keyrings);

    let mut env = TestEnv::keyring();
    env.store("quay.io", "alice", "pw").ok();
    let keyring = env.keyring.as_ref().unwrap();
    let pid = i32::try_from(keyring.keyring_pid()).unwrap();
    // SAFETY: kill(2) on the pid of a child this test owns and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTRAP) }, 0);
    assert!(keyring.wait_for_death(Duration::from_secs(10)));

    let failure = std::panic::catch_unwind(AssertUnwindSafe(|| env.get("quay.io")))
        .expect_err("the harness fails a test whose keyring died");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("killed by signal 5 (SIGTRAP"), "{message}");
    assert!(message.contains("keyring.log ---"), "{message}");
    assert!(
        message.contains("gnome-keyring-daemon") && message.contains("DEBUG"),
        "the log's tail, G_MESSAGES_DEBUG=all: {message}"
    );

    // The helper itself, run past the harness: an error, not the file store.
    let keyring = env.keyring.take().unwrap();
    let mut command = Command::new(BIN);
    command
        .arg("get")
        .env_clear()
        .envs(keyring.env())
        .env(STORE, "keyring")
        .env("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", env.config_dir());
    let run = finish(spawn_with_input(&mut command, b"quay.io"));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("keychain"), "{run:?}");
    assert!(!env.config_dir().join("credentials.json").exists());
    assert!(!keyring.name_has_owner(), "no keyring was activated");
    drop(keyring);

    assert_eq!(
        listing(&real_keyrings),
        before,
        "{} is untouched",
        real_keyrings.display()
    );
}

/// Names, sizes and modification times under `dir`; `None` if it does not exist.
fn listing(dir: &Path) -> Option<Vec<(String, u64, SystemTime)>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| {
            let meta = entry.metadata().unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.modified().unwrap(),
            )
        })
        .collect();
    entries.sort();
    Some(entries)
}
