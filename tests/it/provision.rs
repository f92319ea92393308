//! Provisioning on first use, end to end: the real binary, a real Secret Service (or the file
//! store), and the loopback fake of the Deepgram API counting every request.

use crate::support;

use std::process::Child;
use std::time::{Duration, Instant};

use support::fake_deepgram::{FakeDeepgram, Fault, Shape};
use support::{ClosedPort, Run, TestEnv, finish, get_json};

const NOT_FOUND: &str = "credentials not found in native keychain\n";
const CREATE_PATH: &str = "/self-hosted/distribution/credentials";

/// An environment pointed at `fake` with its valid key and project, on the file store: for
/// tests of the API logic, which no keychain should slow down or mask.
fn provisioning_env(fake: &FakeDeepgram) -> TestEnv {
    provisioning_env_on(TestEnv::file_store(), fake)
}

/// The same on a real gnome-keyring (`store = keyring`), for tests of what the keychain does.
fn keychain_provisioning_env(fake: &FakeDeepgram) -> TestEnv {
    provisioning_env_on(TestEnv::keyring(), fake)
}

/// `env` pointed at `fake`, with the quick retries the fault tests want.
fn provisioning_env_on(mut env: TestEnv, fake: &FakeDeepgram) -> TestEnv {
    env.point_at(fake).quick_retries();
    env
}

/// A loopback port with nothing listening, held so that nothing else takes it meanwhile.
fn closed_port_url() -> (ClosedPort, String) {
    let closed = ClosedPort::new();
    let url = closed.url();
    (closed, url)
}

fn spawn_get(env: &TestEnv, server: &str) -> Child {
    env.spawn(&["get"], server.as_bytes())
}

/// Starts a `get quay.io` and waits (bounded) until its create has reached the fake, so the
/// test can act while that helper is mid-create.
fn get_in_mid_create(env: &TestEnv, fake: &FakeDeepgram) -> Child {
    let child = spawn_get(env, "quay.io");
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.creates() == 0 {
        assert!(
            Instant::now() < deadline,
            "the helper never sent its create"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn parse_get(run: &Run) -> (String, String) {
    let value: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("get answered JSON: {run:?}"));
    (
        value["Username"].as_str().unwrap().to_string(),
        value["Secret"].as_str().unwrap().to_string(),
    )
}

#[test]
fn first_use_creates_one_credential_and_stores_it_before_answering() {
    let fake = FakeDeepgram::start();
    fake.set_credential(
        "64d1f840-3b7e-43b2-a7b6-d56756d4476d",
        "R2CTHDZ27R360V8H5LOWGBQ871HE9RP5",
    );
    let env = keychain_provisioning_env(&fake);

    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        get_json(
            "quay.io",
            "deepgram+64d1f840-3b7e-43b2-a7b6-d56756d4476d",
            "R2CTHDZ27R360V8H5LOWGBQ871HE9RP5"
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(fake.creates(), 1);

    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.path,
        format!(
            "/v1/projects/{}/self-hosted/distribution/credentials",
            fake.project_id()
        )
    );
    let header = |name: &str| {
        post.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("authorization"),
        Some(format!("Token {}", fake.api_key()))
    );
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["provider"], "quay");
    assert_eq!(
        body["scopes"],
        serde_json::json!(["self-hosted:product:api", "self-hosted:product:engine"])
    );
    let comment = body["comment"].as_str().unwrap();
    assert!(
        comment.starts_with("docker-credential-deepgram on "),
        "{comment}"
    );
    assert!(comment.len() <= 128);

    // the secret is in the keychain, the metadata in the index, nothing secret in files
    let items = env.keyring.as_ref().unwrap().items();
    assert!(
        items.contains("R2CTHDZ27R360V8H5LOWGBQ871HE9RP5"),
        "{items}"
    );
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("index.json")).unwrap(),
    )
    .unwrap();
    let provisioned = &index["entries"]["quay.io"]["provisioned"];
    assert_eq!(provisioned["id"], "64d1f840-3b7e-43b2-a7b6-d56756d4476d");
    assert_eq!(provisioned["project_id"], fake.project_id().as_str());
    assert_eq!(provisioned["comment"], comment);
    assert!(provisioned["created"].as_str().unwrap().starts_with("20"));
    assert_eq!(provisioned["scopes"].as_array().unwrap().len(), 2);
    let tag = format!("[dcd:{}:", index["install_id"].as_str().unwrap());
    assert!(
        comment.contains(&tag) && comment.ends_with(']'),
        "comment carries the install tag and a per-create marker: {comment}"
    );
    assert!(
        env.files_containing("R2CTHDZ27R360V8H5LOWGBQ871HE9RP5")
            .is_empty()
    );
    assert!(env.files_containing(&fake.api_key()).is_empty());
}

#[test]
fn a_stored_credential_answers_with_no_request_and_no_network() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    let first = env.get("https://quay.io/");
    first.ok();
    let requests = fake.requests().len();

    let (_closed, url) = closed_port_url();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &url);
    for spelling in ["quay.io", "quay.io:443", "https://QUAY.io"] {
        let again = env.get(spelling);
        assert_eq!(again.code, 0, "{again:?}");
        assert_eq!(parse_get(&again), parse_get(&first));
    }
    assert_eq!(
        fake.requests().len(),
        requests,
        "no request after the first"
    );
}

#[test]
fn thirty_two_simultaneous_first_uses_make_exactly_one_create() {
    let fake = FakeDeepgram::start();
    // a slow create widens the window in which the others pile up on the lock
    fake.push_fault("POST", CREATE_PATH, Fault::Slow(Duration::from_millis(400)));
    let env = keychain_provisioning_env(&fake);
    let children: Vec<Child> = (0..32).map(|_| spawn_get(&env, "quay.io")).collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    let answers: Vec<(String, String)> = runs
        .iter()
        .map(|run| {
            assert_eq!(run.code, 0, "{run:?}");
            parse_get(run)
        })
        .collect();
    assert_eq!(fake.creates(), 1);
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "all return the same credential"
    );
}

#[test]
fn a_process_killed_mid_create_does_not_block_the_next_one() {
    let fake = FakeDeepgram::start();
    fake.push_fault("POST", CREATE_PATH, Fault::Slow(Duration::from_secs(20)));
    let mut env = provisioning_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOCK_TIMEOUT", "30s");
    let mut stuck = get_in_mid_create(&env, &fake);
    stuck.kill().unwrap(); // SIGKILL while it holds the lock
    stuck.wait().unwrap();

    let started = Instant::now();
    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "proceeded at once"
    );
    assert_eq!(fake.creates(), 2);
    assert!(
        run.stderr.contains("did not finish") && run.stderr.contains("[dcd:"),
        "warns about the possible orphan and how to find it: {run:?}"
    );
}

#[test]
fn without_an_api_key_get_is_not_found_with_a_hint() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.unset("DEEPGRAM_API_KEY");
    let run = env.get("quay.io");
    assert_eq!((run.code, run.stdout.as_str()), (1, NOT_FOUND));
    assert!(run.stderr.contains("DEEPGRAM_API_KEY"), "{run:?}");
    assert!(
        run.stderr.contains("docker-credential-deepgram login"),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(fake.requests().is_empty());
}

#[test]
fn other_registries_and_provision_never_make_no_request() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    let run = env.get("localhost:5000");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, NOT_FOUND, "")
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION", "never");
    assert_eq!(env.get("quay.io").stdout, NOT_FOUND);
    assert!(fake.requests().is_empty());
}

#[test]
fn provisioning_registries_are_configurable() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES",
        "http://LOCALHOST:5000/, registry.example",
    );
    assert_eq!(env.get("localhost:5000").code, 0);
    assert_eq!(
        env.get("quay.io").stdout,
        NOT_FOUND,
        "quay.io is no longer listed"
    );
    assert_eq!(fake.creates(), 1);
}

#[test]
fn the_wrapped_response_shape_derives_the_username() {
    let fake = FakeDeepgram::start();
    fake.set_shape(Shape::Wrapped);
    fake.set_credential("82c32c10-53b2-4d23-993f-864b3d44502a", "WRAPPEDSECRET");
    let env = provisioning_env(&fake);
    let run = env.get("quay.io");
    assert_eq!(
        run.stdout,
        get_json(
            "quay.io",
            "deepgram+82c32c10-53b2-4d23-993f-864b3d44502a",
            "WRAPPEDSECRET"
        )
    );
}

#[test]
fn the_project_is_discovered_when_the_key_sees_exactly_one() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.unset("DEEPGRAM_PROJECT_ID");
    env.get("quay.io").ok();
    assert_eq!(fake.count("GET", "/v1/projects"), 1);
    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(post.path.contains(&fake.project_id()), "{post:?}");
}

#[test]
fn several_projects_are_listed_by_name_and_id_and_nothing_is_created() {
    let fake = FakeDeepgram::start();
    fake.set_projects(&[
        ("11111111-1111-4111-8111-111111111111", "Staging"),
        ("22222222-2222-4222-8222-222222222222", "Production"),
    ]);
    let mut env = provisioning_env(&fake);
    env.unset("DEEPGRAM_PROJECT_ID");
    let run = env.get("quay.io");
    assert_eq!(run.code, 1);
    for expected in [
        "sees 2 projects",
        "Staging 11111111-1111-4111-8111-111111111111",
        "Production 22222222-2222-4222-8222-222222222222",
        "DEEPGRAM_PROJECT_ID",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {run:?}");
    }
    assert_eq!(fake.creates(), 0);
}

/// Runs one get against a fault; returns it, the number of creates, and the environment and
/// fake for follow-up calls.
fn get_with_fault(fault: Fault) -> (Run, usize, TestEnv, FakeDeepgram) {
    let fake = FakeDeepgram::start();
    fake.push_fault("POST", CREATE_PATH, fault);
    let mut env = provisioning_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT", "2s");
    let run = env.get("quay.io");
    (run, fake.creates(), env, fake)
}

fn status(code: u16, body: &str, acted: bool) -> Fault {
    Fault::Status {
        status: code,
        headers: vec![],
        body: body.to_string(),
        acted,
    }
}

fn assert_error(run: &Run, expected: &[&str]) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    assert_ne!(run.stdout, NOT_FOUND);
    for part in expected {
        assert!(run.stdout.contains(part), "{part:?} in {run:?}");
    }
    assert!(
        run.stderr.contains(run.stdout.trim()),
        "detail on stderr too: {run:?}"
    );
}

#[test]
fn an_invalid_key_says_so_with_the_api_detail() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.set(
        "DEEPGRAM_API_KEY",
        "0000000000000000000000000000000000000000",
    );
    let run = env.get("quay.io");
    assert_error(
        &run,
        &["401", "INVALID_AUTH", "request_id", "DEEPGRAM_API_KEY"],
    );
    assert!(
        !run.stdout
            .contains("0000000000000000000000000000000000000000")
    );
    assert!(run.stderr.contains("hint:"), "{run:?}");
}

#[test]
fn a_key_without_write_access_names_the_scope() {
    let fake = FakeDeepgram::start();
    fake.add_key("1111111111111111111111111111111111111111", false);
    let mut env = provisioning_env(&fake);
    env.set(
        "DEEPGRAM_API_KEY",
        "1111111111111111111111111111111111111111",
    );
    let run = env.get("quay.io");
    assert_error(&run, &["403", "keys:write", "self-hosted:product:api"]);
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");
}

#[test]
fn an_unknown_project_is_named() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.set(
        "DEEPGRAM_PROJECT_ID",
        "99999999-9999-4999-8999-999999999999",
    );
    let run = env.get("quay.io");
    assert_error(
        &run,
        &["99999999-9999-4999-8999-999999999999", "not found", "404"],
    );
}

#[test]
fn rate_limiting_is_retried_after_the_servers_wait() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        CREATE_PATH,
        Fault::Status {
            status: 429,
            headers: vec![("Retry-After".into(), "1".into())],
            body: "{\"err_code\":\"TOO_MANY_REQUESTS\",\"err_msg\":\"slow down\"}".into(),
            acted: false,
        },
    );
    let env = provisioning_env(&fake);
    let started = Instant::now();
    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "honoured Retry-After"
    );
    assert_eq!(fake.creates(), 2);
    assert!(run.stderr.contains("429"), "says why it waited: {run:?}");
}

#[test]
fn rate_limiting_past_the_budget_is_an_error() {
    let fake = FakeDeepgram::start();
    for _ in 0..2 {
        fake.push_fault(
            "POST",
            CREATE_PATH,
            Fault::Status {
                status: 429,
                headers: vec![("Retry-After".into(), "3".into())],
                body: String::new(),
                acted: false,
            },
        );
    }
    let mut env = provisioning_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "1s");
    let run = env.get("quay.io");
    assert_error(&run, &["429", "rate limiting", "try again in 3s"]);
    assert_eq!(
        fake.creates(),
        1,
        "the wait would pass the budget: no second try"
    );
}

#[test]
fn service_unavailable_is_retried() {
    // The API's own error shape: it came from Deepgram, not a gateway (see tests/network.rs).
    let (run, creates, _env, _fake) = get_with_fault(status(
        503,
        r#"{"err_code":"SERVICE_UNAVAILABLE","err_msg":"upstream down"}"#,
        false,
    ));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(creates, 2);
}

#[test]
fn ambiguous_failures_are_never_retried_and_name_the_orphan() {
    for fault in [
        status(
            500,
            "{\"category\":\"INTERNAL\",\"message\":\"boom\"}",
            true,
        ),
        status(502, "bad gateway", true),
        status(504, "gateway timeout", true),
        Fault::Hangup,
        Fault::Slow(Duration::from_secs(4)),
    ] {
        let label = format!("{fault:?}");
        let (run, creates, env, fake) = get_with_fault(fault);
        assert_error(&run, &["may have succeeded", "[dcd:", "Console"]);
        assert_eq!(creates, 1, "{label}: never retried");
        // the next get warns about the possible orphan before creating a new one
        let next = env.get("quay.io");
        assert_eq!(next.code, 0, "{label}: {next:?}");
        assert!(next.stderr.contains("did not finish"), "{label}: {next:?}");
        assert_eq!(fake.creates(), 2, "{label}");
    }
}

#[test]
fn malformed_answers_and_missing_secrets_are_errors() {
    let (run, _, _env, _fake) = get_with_fault(Fault::MalformedJson);
    assert_error(&run, &["not the expected JSON"]);
    let (run, _, env, _fake) = get_with_fault(Fault::NoSecret);
    assert_error(&run, &["returned no secret", "delete it"]);
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");
}

#[test]
fn an_unreachable_api_is_not_found_with_the_reason_on_stderr() {
    // Public images still pull anonymously; tests/network.rs times it and the back-off.
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    let (_closed, url) = closed_port_url();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &url);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "1s");
    let run = env.get("quay.io");
    assert_eq!((run.code, run.stdout.as_str()), (1, NOT_FOUND), "{run:?}");
    assert!(
        run.stderr.contains("cannot reach the Deepgram API") && run.stderr.contains("127.0.0.1"),
        "{run:?}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_sending_the_key() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    // TEST-NET-1 (RFC 5737) by address: no resolver, and no host answers there. A connect
    // would hang until the connect timeout; the rule refuses before any.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", "http://192.0.2.1");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "30s");
    let started = Instant::now();
    let run = env.get("quay.io");
    assert_error(&run, &["plain http", "https://"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused without a connect: {:?}",
        started.elapsed()
    );
    assert!(fake.requests().is_empty());
    assert!(env.files_containing(&fake.api_key()).is_empty());
}

#[test]
fn a_locked_keychain_fails_before_anything_is_created() {
    let fake = FakeDeepgram::start();
    let mut env = keychain_provisioning_env(&fake);
    env.store("other.example", "u", "p").ok();
    env.keyring.as_mut().unwrap().lock();
    let run = env.get("quay.io");
    assert_error(&run, &["keychain is locked"]);
    assert_eq!(fake.creates(), 0);
}

#[test]
fn a_keychain_that_locks_mid_create_keeps_the_secret_in_the_file_store() {
    let fake = FakeDeepgram::start();
    fake.set_credential("0c0c0c0c-0000-4000-8000-000000000001", "KEPTSECRET");
    fake.push_fault(
        "POST",
        CREATE_PATH,
        Fault::Slow(Duration::from_millis(1500)),
    );
    let mut env = keychain_provisioning_env(&fake);
    env.store("other.example", "u", "p").ok();
    let child = get_in_mid_create(&env, &fake);
    env.keyring.as_mut().unwrap().lock();
    let run = finish(child);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(parse_get(&run).1, "KEPTSECRET");
    assert!(
        run.stderr.contains("0c0c0c0c-0000-4000-8000-000000000001"),
        "{run:?}"
    );
    assert!(run.stderr.contains("file store"), "{run:?}");
    assert_eq!(
        env.files_containing("KEPTSECRET"),
        vec![env.config_dir().join("credentials.json")]
    );
}

#[test]
fn a_store_that_refuses_everything_names_the_credential_to_delete() {
    let fake = FakeDeepgram::start();
    fake.set_credential("0d0d0d0d-0000-4000-8000-000000000002", "LOSTSECRET");
    fake.push_fault(
        "POST",
        CREATE_PATH,
        Fault::Slow(Duration::from_millis(1500)),
    );
    let env = provisioning_env(&fake);
    let child = get_in_mid_create(&env, &fake);
    // the store's file becomes impossible to replace, even for root
    let _ = std::fs::remove_file(env.config_dir().join("credentials.json"));
    std::fs::create_dir_all(env.config_dir().join("credentials.json/blocked")).unwrap();
    let run = finish(child);
    assert_error(
        &run,
        &[
            "0d0d0d0d-0000-4000-8000-000000000002",
            "deepgram+0d0d0d0d",
            "delete credential",
        ],
    );
    assert!(!run.stdout.contains("LOSTSECRET") && !run.stderr.contains("LOSTSECRET"));
}

#[test]
fn login_checks_the_key_and_saves_it_for_later_provisioning() {
    let fake = FakeDeepgram::start();
    let mut env = keychain_provisioning_env(&fake);
    env.unset("DEEPGRAM_API_KEY");
    let bad = env.run(&["login"], b"ffffffffffffffffffffffffffffffffffffffff\n");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("401"), "{bad:?}");
    assert!(
        !bad.stderr
            .contains("ffffffffffffffffffffffffffffffffffffffff")
    );

    let good = env.run(&["login"], format!("{}\n", fake.api_key()).as_bytes());
    assert_eq!(good.code, 0, "{good:?}");
    assert!(
        good.stdout
            .contains("saved the Deepgram API key in the keyring store"),
        "{good:?}"
    );
    assert!(!good.stdout.contains(&fake.api_key()) && !good.stderr.contains(&fake.api_key()));
    assert!(
        env.keyring
            .as_ref()
            .unwrap()
            .items()
            .contains("deepgram-api-key")
    );
    assert!(env.files_containing(&fake.api_key()).is_empty());

    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.creates(), 1);

    let out = env.run(&["logout"], b"");
    assert_eq!(
        out.stdout,
        "removed the saved Deepgram API key from the keychain\n"
    );
}

#[test]
fn login_with_the_file_store_keeps_the_key_only_in_that_file() {
    let fake = FakeDeepgram::start();
    let mut env = provisioning_env(&fake);
    env.unset("DEEPGRAM_API_KEY");
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    assert_eq!(
        env.files_containing(&fake.api_key()),
        vec![env.config_dir().join("credentials.json")]
    );
}

#[test]
fn neither_the_api_key_nor_the_secret_leaks_into_output_or_files() {
    let fake = FakeDeepgram::start();
    fake.set_credential("5ec5ec5e-0000-4000-8000-000000000003", "LEAKCHECKSECRET");
    let mut env = keychain_provisioning_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "debug");
    let mut outputs = vec![
        env.get("quay.io"),
        env.get("quay.io"),
        env.run(&["list"], b""),
    ];
    env.set(
        "DEEPGRAM_API_KEY",
        "badbadbadbadbadbadbadbadbadbadbadbadbad0",
    );
    env.run(&["erase"], b"quay.io").ok();
    outputs.push(env.get("quay.io"));
    for run in &outputs {
        for needle in [
            fake.api_key().as_str(),
            "badbadbadbadbadbadbadbadbadbadbadbadbad0",
        ] {
            assert!(
                !run.stdout.contains(needle) && !run.stderr.contains(needle),
                "{run:?}"
            );
        }
    }
    // the secret reaches stdout only as get's answer
    assert!(outputs[0].stdout.contains("LEAKCHECKSECRET"));
    assert!(
        outputs
            .iter()
            .all(|run| !run.stderr.contains("LEAKCHECKSECRET"))
    );
    assert!(!outputs[2].stdout.contains("LEAKCHECKSECRET"));
    assert!(env.files_containing("LEAKCHECKSECRET").is_empty());
    assert!(env.files_containing(&fake.api_key()).is_empty());
}

#[test]
fn a_bounded_lock_wait_says_what_it_waited_for() {
    let fake = FakeDeepgram::start();
    fake.push_fault("POST", CREATE_PATH, Fault::Slow(Duration::from_secs(3)));
    let mut env = provisioning_env(&fake);
    let first = get_in_mid_create(&env, &fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOCK_TIMEOUT", "300ms");
    let waited = env.get("quay.io");
    assert_error(
        &waited,
        &[
            "timed out after",
            "creating a Deepgram distribution credential for quay.io",
            "lock_timeout",
        ],
    );
    let first = finish(first);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(parse_get(&env.get("quay.io")), parse_get(&first));
    assert_eq!(fake.creates(), 1);
}

#[test]
fn status_shows_ids_and_unfinished_creates_but_no_secret() {
    let fake = FakeDeepgram::start();
    fake.set_credential("57a7057a-0000-4000-8000-000000000004", "STATUSSECRET");
    fake.push_fault("POST", CREATE_PATH, Fault::Hangup);
    let env = keychain_provisioning_env(&fake);
    let failed = env.get("quay.io");
    assert_eq!(failed.code, 1);
    let pending = env.run(&["status"], b"");
    assert_eq!(pending.code, 0, "{pending:?}");
    assert!(
        pending.stdout.contains("credentials: none stored"),
        "{pending:?}"
    );
    assert!(
        pending.stdout.contains("unfinished create for quay.io"),
        "{pending:?}"
    );
    assert!(
        pending.stdout.contains("[dcd:"),
        "names the comment to look for: {pending:?}"
    );
    assert!(
        pending.stdout.contains("API key: DEEPGRAM_API_KEY"),
        "{pending:?}"
    );

    env.get("quay.io").ok();
    let status = env.run(&["status"], b"");
    for expected in [
        "store: keyring",
        "provisioning registries: quay.io",
        "credential quay.io: username deepgram+57a7057a-0000-4000-8000-000000000004 in the keyring store",
        "Deepgram credential 57a7057a-0000-4000-8000-000000000004 in project 9f870faf-07a9-41b1-aa0d-de5030cb9bdc",
    ] {
        assert!(status.stdout.contains(expected), "{expected}: {status:?}");
    }
    let json = env.run(&["status", "--json"], b"");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["credentials"]["quay.io"]["provisioned"]["id"],
        "57a7057a-0000-4000-8000-000000000004"
    );
    // The hang-up's create acted: that credential stays listed, by its own comment, after the
    // next create succeeded; the credential in use is never listed as unfinished.
    let hung_up = fake.credentials()[0]["distribution_credentials"]["comment"].clone();
    let in_use = value["credentials"]["quay.io"]["provisioned"]["comment"].clone();
    assert_ne!(hung_up, in_use, "every create has its own comment");
    assert_eq!(
        value["unfinished"].as_array().map(Vec::len),
        Some(1),
        "{value:#}"
    );
    assert_eq!(value["unfinished"][0]["comment"], hung_up);
    assert!(
        status.stdout.contains("unfinished create for quay.io")
            && status.stdout.contains(hung_up.as_str().unwrap())
            && !status.stdout.contains(&format!(
                "comment \"{}\" in the Console",
                in_use.as_str().unwrap()
            )),
        "{status:?}"
    );
    for run in [&pending, &status, &json] {
        assert!(!run.stdout.contains("STATUSSECRET") && !run.stderr.contains("STATUSSECRET"));
        assert!(!run.stdout.contains(&fake.api_key()));
    }
    let before = fake.requests().len();
    env.run(&["status"], b"").ok();
    assert_eq!(
        fake.requests().len(),
        before,
        "status never touches the network"
    );
}
