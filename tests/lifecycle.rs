//! The remote life of a distribution credential, end to end: the real binary, a real Secret
//! Service, and the loopback fake of the Deepgram API counting every operation. A credential
//! deleted behind the helper's back, checks that fail, rotation, revocation and clean-up.

mod support;

#[path = "support/fake_deepgram.rs"]
mod fake_deepgram;

use std::time::{Duration, Instant};

use fake_deepgram::{FakeDeepgram, Fault};
use support::{Run, TestEnv};

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
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REVALIDATE_AFTER", "0s");
    env.get("quay.io").ok();
    env.get("quay.io").ok();
    let requests = fake.requests();
    assert_eq!((fake.creates(), fake.gets()), (1, 1), "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.path.contains("/onprem/distribution/credentials")),
        "{requests:?}"
    );
}

fn secret_of(run: &Run) -> String {
    let value: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("get answered JSON: {run:?}"));
    value["Secret"].as_str().unwrap().to_string()
}

/// The id of the credential the fake holds (exactly one).
fn only_credential(fake: &FakeDeepgram) -> String {
    let ids = fake.credential_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// An environment whose first `get` created a credential, with every later `get` due for a
/// check (`revalidate_after = 0s`). Returns it and the first secret.
fn provisioned_env(fake: &FakeDeepgram) -> (TestEnv, String) {
    let mut env = lifecycle_env(fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REVALIDATE_AFTER", "0s");
    let first = env.get("quay.io");
    first.ok();
    assert_eq!(fake.creates(), 1);
    (env, secret_of(&first))
}

#[test]
fn a_credential_deleted_behind_the_helpers_back_is_replaced_once_on_the_next_due_get() {
    let fake = FakeDeepgram::start();
    let (env, first) = provisioned_env(&fake);
    let old = only_credential(&fake);
    let again = env.get("quay.io");
    again.ok();
    assert_eq!(secret_of(&again), first);
    assert_eq!((fake.gets(), fake.creates()), (1, 1));

    assert!(fake.remove_credential(&old));
    let healed = env.get("quay.io");
    healed.ok();
    assert_ne!(secret_of(&healed), first);
    assert!(
        healed.stderr.contains(&format!(
            "Deepgram credential {old} for quay.io no longer exists"
        )),
        "{healed:?}"
    );
    assert!(!healed.stderr.contains(&secret_of(&healed)));
    assert_eq!(fake.creates(), 2);
    let new = only_credential(&fake);
    assert_ne!(new, old);
    // The new one is stored, and the next get answers it after a check that finds it.
    let after = env.get("quay.io");
    after.ok();
    assert_eq!(secret_of(&after), secret_of(&healed));
    assert_eq!(after.stderr, "");
    assert_eq!(fake.creates(), 2);
}

#[test]
fn sixteen_simultaneous_due_gets_after_a_deletion_create_exactly_one() {
    let fake = FakeDeepgram::start();
    let (env, first) = provisioned_env(&fake);
    fake.remove_credential(&only_credential(&fake));
    let mut env = env;
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "debug");
    let children: Vec<_> = (0..16).map(|_| env.spawn(&["get"], b"quay.io")).collect();
    let runs: Vec<Run> = children.into_iter().map(support::finish).collect();
    let secrets: Vec<String> = runs.iter().map(|run| secret_of(run.ok())).collect();
    assert_eq!(fake.creates(), 2, "{runs:?}");
    for (run, secret) in runs.iter().zip(&secrets) {
        assert_ne!(*secret, first, "{run:?}");
        assert_eq!(*secret, secrets[0], "{run:?} {:?}", runs[0]);
    }
    only_credential(&fake);
}

#[test]
fn a_check_that_proves_nothing_answers_the_stored_credential_and_waits_a_minute() {
    for fault in [403, 500, 401, 429] {
        let fake = FakeDeepgram::start();
        let (env, first) = provisioned_env(&fake);
        fake.set_sticky_fault(
            "GET",
            "/distribution/credentials/",
            FakeDeepgram::status_fault(fault),
        );
        let run = env.get("quay.io");
        run.ok();
        assert_eq!(secret_of(&run), first, "{fault}");
        assert_eq!(run.stderr, "", "{fault}");
        // Not asked again within a minute, even with revalidate_after = 0s.
        env.get("quay.io").ok();
        assert_eq!((fake.gets(), fake.creates()), (1, 1), "{fault}");
    }
}

#[test]
fn a_slow_or_unreachable_api_holds_a_due_get_for_at_most_the_check_limit() {
    let fake = FakeDeepgram::start();
    let (env, first) = provisioned_env(&fake);
    fake.set_sticky_fault(
        "GET",
        "/distribution/credentials/",
        Fault::Slow(Duration::from_secs(20)),
    );
    let started = Instant::now();
    let run = env.get("quay.io");
    run.ok();
    // The fault would hold the answer 20 s; the check gives up after 2 s.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(secret_of(&run), first);
    assert_eq!((fake.gets(), fake.creates()), (1, 1));

    let (fake, env, first) = {
        let fake = FakeDeepgram::start();
        let (env, first) = provisioned_env(&fake);
        (fake, env, first)
    };
    drop(fake); // nothing listens on its port now: connection refused
    let started = Instant::now();
    let run = env.get("quay.io");
    run.ok();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(secret_of(&run), first);
}

#[test]
fn revalidate_after_never_makes_no_request_at_all() {
    let fake = FakeDeepgram::start();
    let (mut env, first) = provisioned_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REVALIDATE_AFTER", "never");
    fake.remove_credential(&only_credential(&fake));
    let requests = fake.requests().len();
    let run = env.get("quay.io");
    run.ok();
    assert_eq!(secret_of(&run), first);
    assert_eq!(fake.requests().len(), requests);
}

#[test]
fn the_default_revalidate_after_makes_no_request_right_after_a_create() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.get("quay.io").ok();
    let requests = fake.requests().len();
    env.get("quay.io").ok();
    assert_eq!(fake.requests().len(), requests);
}
