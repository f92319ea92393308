//! Configuration end to end: bad values in the environment and `config.toml` are clear errors
//! (never a panic, never after anything was written), the config directory and `config.toml`
//! are trusted only when nobody else can change them, and warnings and hints are shown once.

use crate::support;

use std::os::unix::fs::PermissionsExt;

use support::fake_deepgram::FakeDeepgram;
use support::{TestEnv, mode};

fn provisioning_env(fake: &FakeDeepgram) -> TestEnv {
    TestEnv::file_store().pointed_at(fake)
}

#[test]
fn oversized_durations_in_the_environment_are_errors_before_anything_happens() {
    let fake = FakeDeepgram::start();
    for (name, value, max) in [
        (
            "DOCKER_CREDENTIAL_DEEPGRAM_LOCK_TIMEOUT",
            "10000000000000000000s",
            "1h0m0s",
        ),
        (
            "DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET",
            "18446744073709551615",
            "10m0s",
        ),
        (
            "DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT",
            "99999999999999999999999h",
            "10m0s",
        ),
        ("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "6m", "5m0s"),
        (
            "DOCKER_CREDENTIAL_DEEPGRAM_KUBELET_CACHE_DURATION",
            "8000000h",
            "168h0m0s",
        ),
    ] {
        let mut env = provisioning_env(&fake);
        env.set(name, value);
        let run = env.get("quay.io");
        assert_eq!(
            run.stdout,
            format!(
                "environment variable {name}: \"{value}\" is longer than the maximum {max}: use a value up to {max}\n"
            ),
            "{run:?}"
        );
        assert_eq!(run.code, 1, "{run:?}");
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        // nothing was written: no pending marker, no index
        assert!(!env.config_dir().join("index.json").exists(), "{name}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn a_relative_config_dir_is_refused() {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", "state/dcd");
    let run = env.store("quay.io", "alice", "pw");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "environment variable DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR: state/dcd is a relative path, which would change with the working directory: use an absolute path\n"
    );
}

#[test]
fn a_loose_config_dir_of_ours_is_made_private_once_with_a_warning() {
    let env = TestEnv::file_store();
    let dir = env.config_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let first = env.store("quay.io", "alice", "pw");
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        first.stderr,
        format!(
            "docker-credential-deepgram: warning: {} was mode 0777; made it 0700, as it holds credentials\n",
            dir.display()
        )
    );
    assert_eq!(mode(&dir), 0o700);
    let second = env.get("quay.io");
    assert_eq!((second.code, second.stderr.as_str()), (0, ""));
}

#[test]
fn a_config_dir_or_file_others_can_change_is_refused_as_root() {
    // The kubelet runs us as root: a directory or config.toml another user can change must not
    // steer it. The suite runs as root (chown needs it).
    let env = TestEnv::file_store();
    let dir = env.config_dir();
    let toml = dir.join("config.toml");
    std::fs::write(&toml, "api_url = \"https://example.invalid\"\n").unwrap();
    std::os::unix::fs::chown(&toml, Some(65534), Some(65534)).unwrap();
    let run = env.get("quay.io");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with(&format!(
            "{} belongs to another user (uid 65534)",
            toml.display()
        )),
        "{run:?}"
    );

    std::os::unix::fs::chown(&toml, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o664)).unwrap();
    let run = env.get("quay.io");
    assert_eq!(
        run.stdout,
        format!(
            "{} can be changed by other users (mode 0664): run `chmod go-w {}`\n",
            toml.display(),
            toml.display()
        )
    );
    std::fs::remove_file(&toml).unwrap();

    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let run = env.store("quay.io", "alice", "pw");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with(&format!(
            "{} belongs to another user (uid 65534): run as that user (not with sudo), or set DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR",
            dir.display()
        )),
        "{run:?}"
    );
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn the_no_keychain_warning_is_shown_once_per_config_dir() {
    let env = TestEnv::without_keychain();
    let mut warnings = 0;
    for _ in 0..3 {
        let run = env.get("quay.io");
        assert_eq!(run.stdout, "credentials not found in native keychain\n");
        for line in run
            .stderr
            .lines()
            .filter(|l| l.contains("no keychain is reachable"))
        {
            warnings += 1;
            assert!(
                line.contains("set store = \"file\" in"),
                "the lasting fix: {line}"
            );
        }
    }
    assert_eq!(warnings, 1);
    // `list` and `status` do not repeat it either
    let list = env.run(&["list"], b"");
    assert_eq!((list.stdout.as_str(), list.stderr.as_str()), ("{}\n", ""));
}

#[test]
fn log_off_silences_hints_and_the_stderr_copy() {
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "off");
    let run = env.get("quay.io");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, "credentials not found in native keychain\n", "")
    );
    // a warning not shown is not remembered as shown
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_LOG");
    let run = env.get("quay.io");
    assert!(run.stderr.contains("no keychain is reachable"), "{run:?}");
    // the default shows the no-key hint exactly once
    let mut env = TestEnv::file_store();
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_LOG");
    let run = env.get("quay.io");
    assert_eq!(run.stderr.matches("hint:").count(), 1, "{run:?}");
    assert!(run.stderr.contains("no Deepgram API key"), "{run:?}");
}

#[test]
fn list_never_reads_stdin() {
    let env = TestEnv::file_store();
    env.store("https://quay.io", "alice", "pw").ok();
    // a client that keeps stdin open: `list` must answer without waiting for EOF
    let mut child = env
        .command(&["list"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "list waited for stdin"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(stdin);
    let run = support::finish(child);
    assert_eq!(run.stdout, "{\"https://quay.io\":\"alice\"}\n", "{run:?}");
    // bytes that are not UTF-8 are not ours to judge
    let run = env.run(&["list"], b"\xff\xfe\n");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"https://quay.io\":\"alice\"}\n")
    );
}

/// The index entry's `checked_at` for `key`, moved `seconds` into the past (as if that much
/// time had passed since the last check): the clock the tests control.
fn backdate_check(env: &TestEnv, key: &str, seconds: u64) {
    let path = env.config_dir().join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let meta = &mut index["entries"][key]["provisioned"];
    let checked = meta["checked_at"]
        .as_u64()
        .expect("creating a credential counts as its first check");
    meta["checked_at"] = serde_json::json!(checked - seconds);
    std::fs::write(&path, index.to_string()).unwrap();
}

#[test]
fn with_default_settings_a_console_deletion_is_healed_by_the_first_get_after_an_hour() {
    let fake = FakeDeepgram::start();
    let mut env = TestEnv::keyring();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    let secret = |run: &support::Run| -> String {
        let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        value["Secret"].as_str().unwrap().to_string()
    };
    let first = env.get("quay.io");
    first.ok();
    let old = fake.credential_ids();
    assert_eq!(old.len(), 1);
    // Deleted in the Console right after the first pull.
    assert!(fake.remove_credential(&old[0]));
    let requests = fake.requests().len();

    // Within the hour: a cache hit, no check, no HTTP client, no request.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "debug");
    backdate_check(&env, "quay.io", 59 * 60);
    let hit = env.get("quay.io");
    hit.ok();
    assert_eq!(secret(&hit), secret(&first));
    assert!(hit.stderr.contains("no check due for quay.io"), "{hit:?}");
    assert_eq!(
        fake.requests().len(),
        requests,
        "no request within the hour"
    );
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_LOG");

    // An hour after the last check: the first get checks, finds it gone, and heals.
    backdate_check(&env, "quay.io", 2 * 60);
    let started = std::time::Instant::now();
    let healed = env.get("quay.io");
    healed.ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{healed:?}"
    );
    assert_ne!(secret(&healed), secret(&first));
    assert!(
        healed.stderr.contains(&format!(
            "Deepgram credential {} for quay.io no longer exists",
            old[0]
        )),
        "{healed:?}"
    );
    assert_eq!(fake.creates(), 2);
    // And the next get, its check just made, answers the new one without a request.
    let requests = fake.requests().len();
    let after = env.get("quay.io");
    assert_eq!(secret(after.ok()), secret(&healed));
    assert_eq!(fake.requests().len(), requests);
}

#[test]
fn a_duplicate_key_names_the_key_and_both_lines_and_deleting_one_fixes_it() {
    let env = TestEnv::file_store();
    let path = env.config_dir().join("config.toml");
    std::fs::write(
        &path,
        "provision = \"auto\"\nlock_timeout = \"30s\"\n# later, by someone else\nlock_timeout = \"2m\"\n",
    )
    .unwrap();
    let run = env.run(&["status"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "docker-credential-deepgram: {}: line 4: key `lock_timeout` is set twice, on lines 2 and 4: delete one of them\n",
            path.display()
        )
    );
    // The advice, followed: delete one of the two lines.
    std::fs::write(
        &path,
        "provision = \"auto\"\n# later, by someone else\nlock_timeout = \"2m\"\n",
    )
    .unwrap();
    env.run(&["status"], b"").ok();
}
