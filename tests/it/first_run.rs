//! The first minutes of a new user, end to end: `login` with the traps it must name (a key
//! that sees several projects, a `DEEPGRAM_API_KEY` that wins over the saved key), `login
//! --project`, and `logout --all`. The real binary, the file store, the loopback fake API.

use crate::support;

use support::TestEnv;
use support::fake_deepgram::FakeDeepgram;

const SECOND: &str = "22222222-2222-4222-8222-222222222222";
const THIRD: &str = "33333333-3333-4333-8333-333333333333";

/// The file store, pointed at `fake`, with no key and no project in the environment.
fn env_for(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env
}

fn key_line(fake: &FakeDeepgram) -> Vec<u8> {
    format!("{}\n", fake.api_key()).into_bytes()
}

#[test]
fn a_key_with_several_projects_is_saved_with_a_warning_and_project_picks_one() {
    let fake = FakeDeepgram::start();
    let first = fake.project_id();
    fake.set_projects(&[(&first, "One"), (SECOND, "Two"), (THIRD, "Three")]);
    let env = env_for(&fake);

    let login = env.run(&["login"], &key_line(&fake));
    assert_eq!(login.code, 0, "{login:?}");
    assert!(login.stdout.contains("3 project(s)"), "{login:?}");
    assert!(
        login.stderr.contains("several projects")
            && login
                .stderr
                .contains("docker-credential-deepgram login --project ID"),
        "{login:?}"
    );

    let unknown = env.run(
        &["login", "--project", "44444444-4444-4444-8444-444444444444"],
        &key_line(&fake),
    );
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("does not see project 44444444")
            && unknown.stderr.contains(&format!("Two ({SECOND})")),
        "{unknown:?}"
    );

    let chosen = env.run(&["login", "--project", SECOND], &key_line(&fake));
    assert_eq!(chosen.code, 0, "{chosen:?}");
    assert!(
        chosen
            .stdout
            .contains(&format!("saved project_id = \"{SECOND}\"")),
        "{chosen:?}"
    );
    assert!(!chosen.stderr.contains("several projects"), "{chosen:?}");
    let config = std::fs::read_to_string(env.config_dir().join("config.toml")).unwrap();
    assert_eq!(config, format!("project_id = \"{SECOND}\"\n"));

    let get = env.get("quay.io");
    assert_eq!(get.code, 0, "{get:?}");
    let creates: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        creates,
        [format!(
            "/v1/projects/{SECOND}/self-hosted/distribution/credentials"
        )]
    );
}

#[test]
fn project_keeps_the_rest_of_config_toml() {
    let fake = FakeDeepgram::start();
    fake.set_projects(&[(&fake.project_id(), "One"), (SECOND, "Two")]);
    let env = env_for(&fake);
    let path = env.config_dir().join("config.toml");
    std::fs::write(&path, "# set by ops\nrequest_timeout = \"20s\"\n").unwrap();
    env.run(&["login", "--project", SECOND], &key_line(&fake))
        .ok();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("# set by ops\nrequest_timeout = \"20s\"\nproject_id = \"{SECOND}\"\n")
    );
}

#[test]
fn an_api_key_in_the_environment_is_named_as_the_one_that_wins() {
    let fake = FakeDeepgram::start();
    let mut env = env_for(&fake);
    env.set("DEEPGRAM_API_KEY", &fake.api_key());

    let login = env.run(&["login"], &key_line(&fake));
    assert_eq!(login.code, 0, "{login:?}");
    assert!(
        login
            .stderr
            .contains("DEEPGRAM_API_KEY is set in this environment and takes precedence"),
        "{login:?}"
    );
    let status = env.run(&["status"], b"");
    assert!(
        status
            .stdout
            .contains("API key: DEEPGRAM_API_KEY (takes precedence over the key saved by login)"),
        "{status:?}"
    );
    let logout = env.run(&["logout"], b"");
    assert!(
        logout
            .stdout
            .starts_with("removed the saved Deepgram API key from "),
        "{logout:?}"
    );
    assert!(
        logout.stderr.contains("DEEPGRAM_API_KEY is still set"),
        "{logout:?}"
    );
    assert!(!login.stderr.contains(&fake.api_key()) && !status.stdout.contains(&fake.api_key()));
}

#[test]
fn logout_all_erases_every_stored_credential_and_names_the_remote_ones() {
    let fake = FakeDeepgram::start();
    fake.set_credential("5ec5ec5e-0000-4000-8000-0000000000aa", "FIRSTRUNSECRET");
    let mut env = env_for(&fake);
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    env.run(&["login"], &key_line(&fake)).ok();
    env.get("quay.io").ok();
    env.store("registry.example.com", "me", "HANDSECRET").ok();
    assert_eq!(fake.creates(), 1);

    let out = env.run(&["logout", "--all"], b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("removed the saved Deepgram API key"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("erased the stored credential for quay.io")
            && out
                .stdout
                .contains("Deepgram credential 5ec5ec5e-0000-4000-8000-0000000000aa still exists"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("erased the stored credential for registry.example.com (me)"),
        "{out:?}"
    );
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");
    for needle in ["FIRSTRUNSECRET", "HANDSECRET", &fake.api_key()] {
        assert!(
            env.files_containing(needle).is_empty(),
            "{needle} left behind"
        );
    }
}
