//! The remote life of a distribution credential, end to end: the real binary, a real Secret
//! Service, and the loopback fake of the Deepgram API counting every operation. A credential
//! deleted behind the helper's back, checks that fail, rotation, revocation and clean-up.

mod support;

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;

use fake_deepgram::FakeDeepgram;
use support::TestEnv;

/// A keychain-backed environment pointed at `fake` with its valid key and project.
fn lifecycle_env(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::keyring();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "5s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "0s");
    env
}

#[test]
fn api_path_onprem_sends_every_operation_to_the_legacy_path() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_PATH", "onprem");
    env.get("quay.io").ok();
    let requests = fake.requests();
    assert_eq!(fake.creates(), 1, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.path.contains("/onprem/distribution/credentials")),
        "{requests:?}"
    );
}
