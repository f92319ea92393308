//! Configuration end to end: bad values in the environment and `config.toml` are clear errors
//! (never a panic, never after anything was written), the config directory and `config.toml`
//! are trusted only when nobody else can change them, and warnings and hints are shown once.

mod support;

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;

use std::os::unix::fs::PermissionsExt;

use fake_deepgram::FakeDeepgram;
use support::{TestEnv, mode};

fn provisioning_env(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    env
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
