//! Every piece of advice works when followed: for the errors in the README's Errors table, the
//! real binary is brought into the state the message describes, the message is checked for its
//! advice, the advice is applied as a person would (the command it names, run as written where
//! it names one), and the problem is shown gone. Loopback fake API, file store or a real
//! keychain where the keychain is meant.

use crate::support;

use std::process::Command;

use support::fake_deepgram::FakeDeepgram;
use support::{Run, TestEnv, finish, spawn_with_input};

const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// `env` sending its API calls to `fake`, retrying a failure at once; the tests choose whether it
/// has a key (`.pointed_at(&fake)` gives it the fake's key and project).
fn provisioning(mut env: TestEnv, fake: &FakeDeepgram) -> TestEnv {
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "0s");
    env
}

/// The text between the first pair of backticks after `after` in `message`.
fn quoted_after<'a>(message: &'a str, after: &str) -> &'a str {
    message
        .split_once(after)
        .and_then(|(_, rest)| rest.split('`').nth(1))
        .unwrap_or_else(|| panic!("no `command` after {after:?} in {message:?}"))
}

/// Runs a shell command the advice names, as written, with `env`'s environment.
fn run_advice(env: &TestEnv, command: &str, stdin: &str) -> Run {
    let mut shell = Command::new("sh");
    shell.args(["-c", command]).env_clear();
    for (name, value) in env.command(&[]).get_envs() {
        if let Some(value) = value {
            shell.env(name, value);
        }
    }
    finish(spawn_with_input(&mut shell, stdin.as_bytes()))
}

fn store_ok(env: &TestEnv) {
    env.store("quay.io", "robot", "s3cr3t-advice").ok();
    let got = env.get("quay.io");
    assert_eq!(
        got.ok().stdout,
        support::get_json("quay.io", "robot", "s3cr3t-advice")
    );
}

#[test]
fn no_api_key_hint_then_login_and_the_next_pull_creates_the_credential() {
    let fake = FakeDeepgram::start();
    let env = provisioning(TestEnv::file_store(), &fake);
    let got = env.get("quay.io");
    assert_eq!((got.code, got.stdout.as_str()), (1, NOT_FOUND));
    assert!(got.stderr.contains("no Deepgram API key"), "{got:?}");
    let login = quoted_after(&got.stderr, "or run");
    assert_eq!(login, "docker-credential-deepgram login");
    // The advice, as written (the binary is on PATH for the shell).
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(support::BIN, bin.path().join("docker-credential-deepgram"))
        .unwrap();
    let mut env = env;
    env.set(
        "PATH",
        &format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap()
        ),
    );
    run_advice(&env, login, &fake.api_key()).ok();
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_key_that_sees_several_projects_then_login_project_fixes_the_pull() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store(), &fake);
    let project = fake.project_id();
    fake.set_projects(&[
        (project.as_str(), "Test Project"),
        ("7e57e57e-0000-4000-8000-000000000002", "Other"),
    ]);
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(got.stdout.contains("sees 2 projects"), "{got:?}");
    assert!(got.stdout.contains(&project), "{got:?}");
    assert!(
        got.stdout
            .contains("run `docker-credential-deepgram login --project ID` with one of them"),
        "{got:?}"
    );
    env.run(&["login", "--project", &project], fake.api_key().as_bytes())
        .ok();
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_rejected_key_then_a_valid_one_and_a_wrong_project_then_unset() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store(), &fake);
    env.set(
        "DEEPGRAM_API_KEY",
        "0123456789abcdef0123456789abcdef01234567",
    );
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(got.stdout.contains("rejected the API key (401"), "{got:?}");
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    env.set(
        "DEEPGRAM_PROJECT_ID",
        "00000000-0000-4000-8000-00000000dead",
    );
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(got.stdout.contains("was not found (404"), "{got:?}");
    // The Errors table: "fix it, or unset it to discover the key's project".
    env.unset("DEEPGRAM_PROJECT_ID");
    env.get("quay.io").ok();
    assert_eq!(fake.credential_ids().len(), 1);
}

#[test]
fn a_remembered_failure_is_cleared_by_login_as_the_hint_says() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store(), &fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "1h");
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        FakeDeepgram::status_fault(403),
    );
    let first = env.get("quay.io");
    assert_eq!(first.code, 1, "{first:?}");
    let again = env.get("quay.io");
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("no request is made for"), "{again:?}");
    let creates = fake.count("POST", "/distribution/credentials");
    // The cause is fixed (the fault was one-off). The hint's way: turn the back-off off.
    assert!(
        again
            .stderr
            .contains("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF=0s turns this off")
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "0s");
    env.get("quay.io").ok();
    assert_eq!(fake.count("POST", "/distribution/credentials"), creates + 1);
    // The README's way: `login` clears every remembered failure.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "1h");
    env.run(&["erase"], b"quay.io").ok();
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        FakeDeepgram::status_fault(403),
    );
    assert_eq!(env.get("quay.io").code, 1);
    assert!(env.get("quay.io").stderr.contains("no request is made for"));
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    env.get("quay.io").ok();
    assert_eq!(fake.credential_ids().len(), 2);
}

#[test]
fn store_keyring_without_a_keychain_then_store_file() {
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    let run = env.store("quay.io", "robot", "s3cr3t-advice");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with("no keychain is reachable ("),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("or set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file"),
        "{run:?}"
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    store_ok(&env);
}

#[test]
fn a_credential_in_a_keychain_this_process_cannot_reach_then_the_session_bus() {
    let mut env = TestEnv::keyring();
    // `auto`, the default: the case is a process that cannot reach the keychain.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "auto");
    env.store("quay.io", "robot", "s3cr3t-advice").ok();
    let mut cron = env.command(&["get"]);
    cron.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let run = finish(spawn_with_input(&mut cron, b"quay.io"));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "the credential for quay.io is in the keychain, which this process cannot reach"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("set DBUS_SESSION_BUS_ADDRESS to its bus"),
        "{run:?}"
    );
    // The advice: the session's bus address.
    let address = env.keyring.as_ref().unwrap().address.clone();
    let mut fixed = env.command(&["get"]);
    fixed.env("DBUS_SESSION_BUS_ADDRESS", &address);
    let run = finish(spawn_with_input(&mut fixed, b"quay.io"));
    assert_eq!(
        run.ok().stdout,
        support::get_json("quay.io", "robot", "s3cr3t-advice")
    );
}

#[test]
fn damaged_files_are_moved_aside_as_the_message_says_and_storing_again_works() {
    for name in ["index.json", "credentials.json"] {
        let env = TestEnv::file_store();
        env.store("quay.io", "robot", "first").ok();
        let path = env.config_dir().join(name);
        std::fs::write(&path, "{\"truncated").unwrap();
        // `list` reads the index; `get` the secrets.
        let run = env.run(
            &[if name == "index.json" { "list" } else { "get" }],
            b"quay.io",
        );
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stdout
                .contains(&format!("{} is damaged (", path.display())),
            "{run:?}"
        );
        assert!(
            run.stdout
                .contains("move it aside and store the credentials again")
        );
        std::fs::rename(&path, path.with_extension("json.damaged")).unwrap();
        store_ok(&env);
    }
}

#[test]
fn bad_config_values_name_the_fix_and_fixing_them_works() {
    let env = TestEnv::file_store();
    let config = env.config_dir().join("config.toml");
    for (bad, says, good) in [
        (
            "store = \"nope\"\n",
            "line 1: key `store`: unknown store \"nope\"",
            "store = \"file\"\n",
        ),
        (
            "lock_timeout = \"2h\"\n",
            "is longer than the maximum",
            "lock_timeout = \"1h\"\n",
        ),
        ("colour = \"blue\"\n", "line 1: unknown field `colour`", ""),
    ] {
        std::fs::write(&config, bad).unwrap();
        let run = env.store("quay.io", "robot", "s3cr3t-advice");
        assert_eq!(run.code, 1, "{bad}: {run:?}");
        assert!(
            run.stdout.contains(&config.display().to_string()),
            "{run:?}"
        );
        assert!(run.stdout.contains(says), "{bad}: {run:?}");
        std::fs::write(&config, good).unwrap();
        store_ok(&env);
    }
    let mut env = env;
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION", "sometimes");
    let run = env.get("quay.io");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("environment variable DOCKER_CREDENTIAL_DEEPGRAM_PROVISION: "),
        "{run:?}"
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION", "never");
    store_ok(&env);
}

#[test]
fn a_config_toml_others_can_change_is_fixed_by_the_chmod_it_names() {
    let env = TestEnv::file_store();
    let config = env.config_dir().join("config.toml");
    std::fs::write(&config, "store = \"file\"\n").unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let run = env.store("quay.io", "robot", "s3cr3t-advice");
    assert_eq!(run.code, 1, "{run:?}");
    let chmod = quoted_after(&run.stdout, "can be changed by other users");
    assert_eq!(chmod, format!("chmod go-w {}", config.display()));
    run_advice(&env, chmod, "").ok();
    store_ok(&env);
}

#[test]
fn a_config_dir_of_another_user_then_a_directory_of_your_own() {
    let mut env = TestEnv::file_store();
    let theirs = env.root.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR",
        &theirs.display().to_string(),
    );
    let run = env.store("quay.io", "robot", "s3cr3t-advice");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("belongs to another user (uid 4242)"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("set DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR to a directory of your own"),
        "{run:?}"
    );
    let mine = env.root.path().join("mine");
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR",
        &mine.display().to_string(),
    );
    store_ok(&env);
}

#[test]
fn an_unreachable_api_answers_not_found_and_the_next_get_after_the_backoff_tries_again() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store().pointed_at(&fake), &fake);
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", "http://127.0.0.1:9");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "1s");
    let got = env.get("quay.io");
    assert_eq!((got.code, got.stdout.as_str()), (1, NOT_FOUND), "{got:?}");
    assert!(
        got.stderr.contains("cannot reach the Deepgram API at"),
        "{got:?}"
    );
    assert!(got.stderr.contains("answering not-found"), "{got:?}");
    // "check the network, api_url and any proxy": api_url fixed, with failure_backoff 0s.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_keychain_item_that_is_not_text_is_erased_and_stored_again() {
    let env = TestEnv::keyring();
    // Another tool wrote bytes that are not UTF-8 under our item's name.
    let mut tool = Command::new("secret-tool");
    tool.args([
        "store",
        "--label=not ours",
        "service",
        "docker-credential-deepgram",
        "username",
        "registry:quay.io",
    ])
    .env_clear()
    .envs(env.keyring.as_ref().unwrap().env());
    finish(spawn_with_input(&mut tool, b"\xff\xfe binary")).ok();
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(
        got.stdout
            .contains("the item registry:quay.io is not text: erase it and store it again"),
        "{got:?}"
    );
    env.run(&["erase"], b"quay.io").ok();
    store_ok(&env);
}

#[test]
fn a_lock_held_too_long_times_out_and_the_next_get_after_it_is_released_works() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store().pointed_at(&fake), &fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOCK_TIMEOUT", "1s");
    // Another process holds the provisioning lock, as a stuck helper would (flock locks
    // belong to the open file, so this test's own lock blocks the helper's).
    let lock = env.config_dir().join("provision.lock");
    let holder = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .unwrap();
    holder.lock().unwrap();
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(got.stdout.starts_with("timed out after "), "{got:?}");
    assert!(
        got.stdout
            .contains("wait for it to finish, or raise lock_timeout"),
        "{got:?}"
    );
    // "wait for it to finish": the other process ends, the next pull works.
    drop(holder);
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_malformed_api_url_names_the_form_to_use_and_that_form_works() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::file_store().pointed_at(&fake), &fake);
    let sneaky = fake.url().replace("http://", "http://127.0.0.1@");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &sneaky);
    let got = env.get("quay.io");
    assert_eq!(got.code, 1, "{got:?}");
    assert!(
        got.stdout
            .contains("contains a user name or password before `@`"),
        "{got:?}"
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn revoke_and_prune_from_a_script_say_which_flag_and_that_flag_works() {
    let fake = FakeDeepgram::start();
    let env = provisioning(TestEnv::file_store().pointed_at(&fake), &fake);
    env.get("quay.io").ok();
    let refused = env.run(&["revoke"], b"");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("refusing to delete")
            && refused.stderr.contains("rerun with --yes"),
        "{refused:?}"
    );
    assert_eq!(fake.credential_ids().len(), 1);
    env.run(&["revoke", "--yes"], b"").ok();
    assert!(fake.credential_ids().is_empty());

    let refused = env.run(&["prune", "--all-installs", "--yes"], b"");
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("--all-installs needs --older-than D"),
        "{refused:?}"
    );
    env.run(
        &["prune", "--all-installs", "--older-than", "30d", "--yes"],
        b"",
    )
    .ok();
}

#[test]
fn the_not_on_path_warning_and_the_call_log_warning_go_once_their_advice_is_followed() {
    let mut env = TestEnv::file_store();
    let run = env.run(&["configure"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains("warning: docker-credential-deepgram is not on PATH"),
        "{run:?}"
    );
    // "add its directory to PATH".
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(support::BIN, bin.path().join("docker-credential-deepgram"))
        .unwrap();
    env.set(
        "PATH",
        &format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap()
        ),
    );
    let run = env.run(&["configure"], b"");
    assert!(!run.ok().stdout.contains("not on PATH"), "{run:?}");

    let logs = env.root.path().join("logs");
    let log = logs.join("calls.log");
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE",
        &log.display().to_string(),
    );
    let run = env.run(&["list"], b"");
    assert!(
        run.ok()
            .stderr
            .contains(&format!("cannot write the call log {}", log.display())),
        "{run:?}"
    );
    // "fix its directory".
    std::fs::create_dir(&logs).unwrap();
    let run = env.run(&["list"], b"");
    assert_eq!(run.ok().stderr, "");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("command=list")
    );
}

#[test]
fn a_key_saved_in_a_keychain_this_process_cannot_reach_is_named_by_get_then_the_session_bus() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning(TestEnv::keyring(), &fake);
    // `auto`, the default: the case is a process that cannot reach the keychain.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "auto");
    env.unset("DEEPGRAM_API_KEY");
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    // cron, `su -`: no session bus, so no keychain and no key.
    let mut cron = env.command(&["get"]);
    cron.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let run = finish(spawn_with_input(&mut cron, b"quay.io"));
    assert_eq!(
        run.stdout, "credentials not found in native keychain\n",
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("the Deepgram API key saved by login is in the keychain, which this process cannot reach"),
        "{run:?}"
    );
    assert!(run.stderr.contains("DBUS_SESSION_BUS_ADDRESS"), "{run:?}");
    assert_eq!(fake.creates(), 0);
    // The advice: the session's bus.
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_client_config_that_is_not_json_then_fixed_and_configure_again() {
    let mut env = TestEnv::file_store();
    let docker = env.home().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(docker.join("config.json"), "{\"auths\": {").unwrap();
    env.set("DOCKER_CONFIG", docker.to_str().unwrap());
    env.set(
        "REGISTRY_AUTH_FILE",
        env.home().join("auth.json").to_str().unwrap(),
    );
    let run = env.run(&["configure"], b"");
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("is not valid JSON") && run.stderr.contains("fix or remove it"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(docker.join("config.json")).unwrap(),
        "{\"auths\": {",
        "not changed"
    );
    // The advice: fix it (here, the JSON it meant), then configure again.
    std::fs::write(docker.join("config.json"), "{\"auths\": {}}").unwrap();
    env.run(&["configure"], b"").ok();
    let config = std::fs::read_to_string(docker.join("config.json")).unwrap();
    assert!(config.contains("\"credHelpers\""), "{config}");
}

#[test]
fn a_bad_kubernetes_name_then_a_valid_one() {
    let fake = FakeDeepgram::start();
    let env = TestEnv::file_store().pointed_at(&fake);
    let run = env.run(&["export", "--name", "Pull_Secret"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("is not a valid Kubernetes name: use lowercase letters"),
        "{run:?}"
    );
    assert_eq!(fake.requests().len(), 0);
    // The advice: lowercase letters, digits, '-'.
    let run = env.run(&["export", "--name", "pull-secret"], b"");
    run.ok();
    assert!(run.stdout.contains("name: pull-secret"), "{run:?}");
}
