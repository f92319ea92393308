//! Docker's credential-helper protocol, end to end through the real binary (file store).
//! Byte-exact expectations come from shared/reference/protocol.md.

use crate::support;

use support::{TestEnv, get_json, mode};

const NOT_FOUND: &str = "credentials not found in native keychain\n";

#[test]
fn store_get_list_erase_round_trip() {
    let env = TestEnv::file_store();
    let stored = env.store("https://quay.io", "alice", "pw1");
    assert_eq!(
        (stored.code, stored.stdout.as_str(), stored.stderr.as_str()),
        (0, "", "")
    );

    let got = env.get("https://quay.io");
    assert_eq!(got.stdout, get_json("https://quay.io", "alice", "pw1"));
    assert_eq!((got.code, got.stderr.as_str()), (0, ""));

    let listed = env.run(&["list"], b"unused");
    assert_eq!(listed.stdout, "{\"https://quay.io\":\"alice\"}\n");

    let erased = env.run(&["erase"], b"https://quay.io");
    assert_eq!(
        (erased.code, erased.stdout.as_str(), erased.stderr.as_str()),
        (0, "", "")
    );
    let gone = env.get("https://quay.io");
    assert_eq!((gone.code, gone.stdout.as_str()), (1, NOT_FOUND));
    assert_eq!(env.run(&["list"], b"unused").stdout, "{}\n");
}

#[test]
fn get_of_nothing_is_the_exact_sentinel_and_quiet() {
    let env = TestEnv::file_store();
    let run = env.get("https://nothere.example");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, NOT_FOUND, "")
    );
}

#[test]
fn erase_of_nothing_succeeds_silently() {
    let env = TestEnv::file_store();
    let run = env.run(&["erase"], b"https://nothere.example");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn list_of_an_empty_store_is_braces() {
    let env = TestEnv::file_store();
    let run = env.run(&["list"], b"unused");
    assert_eq!((run.code, run.stdout.as_str()), (0, "{}\n"));
}

#[test]
fn version_is_one_line() {
    let env = TestEnv::file_store();
    let run = env.run(&["version"], b"");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        format!("docker-credential-deepgram {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_argument_unknown_action_and_extra_arguments_are_usage_errors() {
    let env = TestEnv::file_store();
    let usage = "Usage: docker-credential-deepgram <store|get|erase|list|version>\n";
    for args in [&[][..], &["foo"][..], &["get", "extra"][..]] {
        let run = env.run(args, b"quay.io");
        assert_eq!((run.code, run.stdout.as_str()), (1, usage), "{args:?}");
        assert!(
            run.stderr.contains("login"),
            "stderr lists the other commands: {run:?}"
        );
    }
}

#[test]
fn store_errors_use_the_reference_messages_and_store_nothing() {
    let env = TestEnv::file_store();
    let cases: &[(&[u8], &str)] = &[
        (b"{}\n", "no credentials server URL\n"),
        (b"null\n", "no credentials server URL\n"),
        (
            b"{\"Username\":\"u\",\"Secret\":\"s\"}\n",
            "no credentials server URL\n",
        ),
        (
            b"{\"ServerURL\":\"a.example\",\"Username\":\"\",\"Secret\":\"s\"}\n",
            "no credentials username\n",
        ),
        (
            b"{\"ServerURL\":\"a.example\",\"Secret\":\"s\"}\n",
            "no credentials username\n",
        ),
    ];
    for (input, expected) in cases {
        let run = env.run(&["store"], input);
        assert_eq!((run.code, run.stdout.as_str()), (1, *expected), "{input:?}");
        assert!(
            run.stderr.contains(expected.trim()),
            "detail on stderr too: {run:?}"
        );
    }
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");
}

#[test]
fn bad_input_is_a_clear_one_line_error_not_a_panic() {
    let env = TestEnv::file_store();
    let huge = format!(
        "{{\"ServerURL\":\"big.example\",\"Username\":\"u\",\"Secret\":\"{}\"}}",
        "x".repeat(1024 * 1024 + 10)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("store", b"not json\n".to_vec(), "invalid credentials JSON"),
        (
            "store",
            b"[]".to_vec(),
            "invalid credentials JSON (got an array, not an object)",
        ),
        (
            "store",
            b"".to_vec(),
            "invalid credentials JSON (empty input)",
        ),
        (
            "store",
            b"{\"ServerURL\":1,\"Username\":\"u\"}".to_vec(),
            "field ServerURL is a number",
        ),
        (
            "store",
            b"{\"ServerURL\":\"a\xff\",\"Username\":\"u\"}".to_vec(),
            "input is not valid UTF-8",
        ),
        ("store", huge.into_bytes(), "input is larger than 1 MiB"),
        ("get", b"quay.io\xfe".to_vec(), "input is not valid UTF-8"),
        (
            "get",
            vec![b'q'; 1024 * 1024 + 1],
            "input is larger than 1 MiB",
        ),
        ("get", b"".to_vec(), "no credentials server URL"),
        ("get", b"  \n\t\n".to_vec(), "no credentials server URL"),
        ("erase", b"".to_vec(), "no credentials server URL"),
    ];
    for (action, input, expected) in cases {
        let run = env.run(&[action], &input);
        assert_eq!(run.code, 1, "{action} {expected}: {run:?}");
        assert_eq!(run.stdout.matches('\n').count(), 1, "one line: {run:?}");
        assert!(
            run.stdout.contains(expected),
            "{action}: {:?} vs {expected:?}",
            run.stdout
        );
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n", "nothing was stored");
}

#[test]
fn get_input_is_trimmed_and_joined_like_the_reference() {
    let env = TestEnv::file_store();
    env.store("https://quay.io", "alice", "pw1").ok();
    for input in [
        "https://quay.io\n",
        "  https://quay.io \r\n",
        "https://quay\n.io\n",
    ] {
        let run = env.get(input);
        assert_eq!(
            run.stdout,
            get_json("https://quay.io", "alice", "pw1"),
            "{input:?}"
        );
    }
}

#[test]
fn spellings_of_one_registry_find_one_credential() {
    let env = TestEnv::file_store();
    env.store("https://quay.io", "alice", "pw1").ok();
    for spelling in [
        "quay.io",
        "https://quay.io/",
        "quay.io:443",
        "HTTPS://QUAY.IO",
        "Quay.IO",
    ] {
        let run = env.get(spelling);
        assert_eq!(run.stdout, get_json(spelling, "alice", "pw1"), "{spelling}");
    }
    // A later store under another spelling replaces the same credential.
    env.store("quay.io:443", "bob", "pw2").ok();
    assert_eq!(
        env.get("https://quay.io").stdout,
        get_json("https://quay.io", "bob", "pw2")
    );
    assert_eq!(
        env.run(&["list"], b"").stdout,
        "{\"quay.io:443\":\"bob\"}\n"
    );
    // erase through a third spelling removes it
    env.run(&["erase"], b"https://quay.io/").ok();
    assert_eq!(env.get("quay.io").stdout, NOT_FOUND);
}

#[test]
fn docker_hub_spellings_are_one_registry_but_token_keys_are_not() {
    let env = TestEnv::file_store();
    env.store("https://index.docker.io/v1/", "d", "hub-password")
        .ok();
    for spelling in [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "https://index.docker.io/v1",
    ] {
        assert_eq!(
            env.get(spelling).stdout,
            get_json(spelling, "d", "hub-password"),
            "{spelling}"
        );
    }
    for token_key in [
        "https://index.docker.io/v1/refresh-token",
        "https://index.docker.io/v1/access-token",
    ] {
        let run = env.get(token_key);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (1, NOT_FOUND),
            "{token_key}"
        );
    }
    env.store(
        "https://index.docker.io/v1/refresh-token",
        "<token>",
        "refresh",
    )
    .ok();
    assert_eq!(
        env.get("https://index.docker.io/v1/").stdout,
        get_json("https://index.docker.io/v1/", "d", "hub-password")
    );
}

#[test]
fn other_hosts_ports_and_paths_stay_distinct() {
    let env = TestEnv::file_store();
    env.store("localhost:5000", "u", "p").ok();
    assert_eq!(
        env.get("http://localhost:5000").stdout,
        get_json("http://localhost:5000", "u", "p")
    );
    for other in [
        "localhost:5001",
        "quay.io",
        "localhost:5000/team",
        "localhost",
    ] {
        assert_eq!(env.get(other).stdout, NOT_FOUND, "{other}");
    }
}

#[test]
fn special_characters_and_tokens_round_trip_like_the_reference() {
    let env = TestEnv::file_store();
    // protocol.md cases 43-46: docker sends <token> JSON-escaped.
    let run = env.run(
        &["store"],
        b"{\"ServerURL\":\"tok.example\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"refresh-tok\"}\n",
    );
    run.ok();
    assert_eq!(
        env.get("tok.example").stdout,
        "{\"ServerURL\":\"tok.example\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"refresh-tok\"}\n"
    );
    env.run(
        &["store"],
        "{\"ServerURL\":\"sp.example\",\"Username\":\"\\u00fc&<>\",\"Secret\":\"a\\\"b\\\\c\\nd\\u00e9\\u2603/\"}\n".as_bytes(),
    )
    .ok();
    assert_eq!(
        env.get("sp.example").stdout,
        "{\"ServerURL\":\"sp.example\",\"Username\":\"ü\\u0026\\u003c\\u003e\",\"Secret\":\"a\\\"b\\\\c\\ndé☃/\"}\n"
    );
}

#[test]
fn file_store_is_private_and_the_secret_lives_only_there() {
    let env = TestEnv::file_store();
    let secret = "S3CRET-only-in-the-store-9f2c";
    let run = env.store("quay.io", "alice", secret);
    run.ok();
    let got = env.get("quay.io");
    assert!(!got.stderr.contains(secret));
    assert_eq!(mode(&env.config_dir().join("credentials.json")), 0o600);
    assert_eq!(mode(&env.config_dir().join("index.json")), 0o600);
    assert_eq!(
        env.files_containing(secret),
        vec![env.config_dir().join("credentials.json")]
    );
}

#[test]
fn a_config_dir_we_create_is_0700() {
    let mut env = TestEnv::file_store();
    let dir = env.root.path().join("fresh/nested");
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR",
        dir.to_str().unwrap(),
    );
    env.store("quay.io", "alice", "pw").ok();
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn debug_logging_names_backend_key_and_files_but_never_the_secret() {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "debug");
    let secret = "never-log-me-4471";
    let stored = env.store("https://quay.io", "alice", secret);
    let got = env.get("quay.io");
    for run in [&stored, &got] {
        assert!(run.stderr.contains("store backend: file"), "{run:?}");
        assert!(run.stderr.contains("registry:quay.io"), "{run:?}");
        assert!(
            run.stderr.contains(&env.config_dir().display().to_string()),
            "{run:?}"
        );
        assert!(!run.stderr.contains(secret), "{run:?}");
    }
    // and the default is silent
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_LOG");
    assert_eq!(env.get("quay.io").stderr, "");
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let env = TestEnv::file_store();
    std::fs::write(env.config_dir().join("config.toml"), "stor = \"file\"\n").unwrap();
    let run = env.get("quay.io");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("config.toml"), "{run:?}");
    assert!(run.stdout.contains("unknown field `stor`"), "{run:?}");

    std::fs::write(env.config_dir().join("config.toml"), "store = \"vault\"\n").unwrap();
    let run = env.get("quay.io");
    assert!(
        run.stdout
            .contains("key `store`: unknown store \"vault\": use auto, keyring or file"),
        "{run:?}"
    );
}

#[test]
fn bad_environment_values_name_the_variable() {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "vault");
    let run = env.get("quay.io");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "environment variable DOCKER_CREDENTIAL_DEEPGRAM_STORE: unknown store \"vault\": use auto, keyring or file\n"
    );
}

#[test]
fn a_damaged_store_file_is_reported_and_kept() {
    let env = TestEnv::file_store();
    std::fs::write(env.config_dir().join("credentials.json"), "{oops").unwrap();
    let run = env.store("quay.io", "alice", "pw");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("credentials.json is damaged"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(env.config_dir().join("credentials.json")).unwrap(),
        "{oops"
    );
}
