//! The remote life of a distribution credential, end to end: the real binary, the file store
//! (a rotation also on a real Secret Service), and the loopback fake of the Deepgram API
//! counting every operation. A credential deleted behind the helper's back, checks that fail,
//! rotation, revocation and clean-up.

use crate::support;

use std::time::{Duration, Instant};

use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{Run, TestEnv};

/// An environment pointed at `fake` with its valid key and project, on the file store: these
/// tests are about the API logic, which no keychain should slow down or mask.
fn lifecycle_env(fake: &FakeDeepgram) -> TestEnv {
    lifecycle_env_on(TestEnv::file_store(), fake)
}

/// `env` pointed at `fake`, with quick retries.
fn lifecycle_env_on(mut env: TestEnv, fake: &FakeDeepgram) -> TestEnv {
    env.point_at(fake).quick_retries();
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

#[test]
fn revoke_deletes_remotely_then_locally_and_the_next_get_creates_anew() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    let first = env.get("quay.io");
    first.ok();
    let id = only_credential(&fake);

    let refused = env.run(&["revoke"], b"");
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("rerun with --yes"), "{refused:?}");
    assert_eq!((fake.deletes(), fake.credential_ids().len()), (0, 1));

    let revoked = env.run(&["revoke", "--yes"], b"");
    revoked.ok();
    assert_eq!(
        revoked.stdout,
        format!(
            "revoked Deepgram credential {id} (deepgram+{id}) for quay.io: deleted in project {} and erased the local copy\n",
            fake.project_id()
        )
    );
    assert!(fake.credential_ids().is_empty());
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");

    env.set("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION", "never");
    let none = env.get("quay.io");
    assert_eq!(none.stdout, "credentials not found in native keychain\n");
    env.unset("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION");
    let again = env.get("quay.io");
    again.ok();
    assert_ne!(secret_of(&again), secret_of(&first));
    assert_eq!(fake.creates(), 2);
}

#[test]
fn revoke_of_a_credential_already_gone_still_erases_locally() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.get("quay.io").ok();
    let id = only_credential(&fake);
    fake.remove_credential(&id);
    let run = env.run(
        &["revoke", "--registry", "https://quay.io", "--yes", "--json"],
        b"",
    );
    run.ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["id"], id.as_str());
    assert_eq!(
        (value["already_gone"].clone(), value["deleted"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(env.run(&["list"], b"").stdout, "{}\n");
}

#[test]
fn revoke_keeps_the_local_copy_when_the_api_fails_and_says_why() {
    for (status, says) in [
        (500, "the Deepgram API failed (500"),
        (403, "lacks permission (403"),
        (401, "rejected the API key (401"),
        (429, "rate limiting this key (429"),
    ] {
        let fake = FakeDeepgram::start();
        let env = lifecycle_env(&fake);
        let first = env.get("quay.io");
        first.ok();
        let id = only_credential(&fake);
        fake.set_sticky_fault("DELETE", &id, FakeDeepgram::status_fault(status));
        let run = env.run(&["revoke", "--yes"], b"");
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "docker-credential-deepgram: revoke: could not delete Deepgram credential {id} for quay.io: "
            )) && run.stderr.contains(says)
                && run.stderr.contains("the local copy is kept"),
            "{run:?}"
        );
        assert_eq!(run.stdout, "");
        assert_eq!(secret_of(&env.get("quay.io")), secret_of(&first));
        assert_eq!(fake.credential_ids(), vec![id]);
    }
    // Unreachable: nothing listens on the port any more.
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.get("quay.io").ok();
    drop(fake);
    let run = env.run(&["revoke", "--yes"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot reach the Deepgram API"),
        "{run:?}"
    );
    assert!(run.stderr.contains("the local copy is kept"), "{run:?}");
}

#[test]
fn revoke_refuses_what_it_did_not_create() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.store("quay.io", "robot+me", "hand-made").ok();
    let run = env.run(&["revoke", "--yes"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("was not created by docker-credential-deepgram"),
        "{run:?}"
    );
    let run = env.run(&["revoke", "--registry", "ghcr.io", "--yes"], b"");
    assert!(
        run.stderr.contains("nothing is stored for ghcr.io"),
        "{run:?}"
    );
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn rotate_with_no_grace_replaces_the_credential_and_deletes_the_old_one() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "0s");
    let first = env.get("quay.io");
    first.ok();
    let old = only_credential(&fake);
    let run = env.run(&["rotate", "--yes"], b"");
    run.ok();
    let new = only_credential(&fake);
    assert_ne!(new, old);
    assert_eq!(
        run.stdout,
        format!(
            "rotated the Deepgram credential for quay.io: now {new} (deepgram+{new})\ndeleted the old credential {old}\n"
        )
    );
    let after = env.get("quay.io");
    after.ok();
    assert_ne!(secret_of(&after), secret_of(&first));
    assert!(!run.stdout.contains(&secret_of(&after)));
    assert_eq!((fake.creates(), fake.deletes()), (2, 1));
}

#[test]
fn a_failed_create_leaves_the_old_credential_in_place() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    let first = env.get("quay.io");
    first.ok();
    let old = only_credential(&fake);
    fake.set_sticky_fault(
        "POST",
        "/distribution/credentials",
        FakeDeepgram::status_fault(403),
    );
    let run = env.run(&["rotate", "--yes"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("rotate: cannot create a Deepgram distribution credential"),
        "{run:?}"
    );
    assert_eq!(secret_of(&env.get("quay.io")), secret_of(&first));
    assert_eq!((fake.credential_ids(), fake.deletes()), (vec![old], 0));
}

#[test]
fn a_failed_delete_keeps_the_old_id_as_to_delete_and_prune_removes_it() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "0s");
    env.get("quay.io").ok();
    let old = only_credential(&fake);
    fake.set_sticky_fault("DELETE", &old, FakeDeepgram::status_fault(500));
    let run = env.run(&["rotate", "--yes", "--json"], b"");
    run.ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["old_id"], old.as_str());
    assert_eq!(value["old_to_delete"], true);
    let new = value["new_id"].as_str().unwrap().to_string();
    assert_eq!(fake.credential_ids(), vec![old.clone(), new.clone()]);
    let status = env.run(&["status"], b"");
    status.ok();
    assert!(
        status.stdout.contains(&format!(
            "to delete: Deepgram credential {old} (was quay.io"
        )),
        "{status:?}"
    );
    let status = env.run(&["status", "--json"], b"");
    let value: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(value["to_delete"][0]["id"], old.as_str());

    fake.clear_sticky_faults();
    let pruned = env.run(&["prune", "--yes"], b"");
    pruned.ok();
    assert_eq!(fake.credential_ids(), vec![new]);
    let status = env.run(&["status", "--json"], b"");
    let value: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(value["to_delete"], serde_json::json!([]));
}

#[test]
fn get_rotates_a_credential_older_than_rotate_after() {
    // The one rotation here that also runs on gnome-keyring: replacing a stored secret is where
    // the two backends differ.
    for backend in [TestEnv::file_store, TestEnv::keyring] {
        get_rotates_on(backend());
    }
}

fn get_rotates_on(env: TestEnv) {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env_on(env, &fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "0s");
    let first = env.get("quay.io");
    first.ok();
    let old = only_credential(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "0s");
    let rotated = env.get("quay.io");
    rotated.ok();
    let new = only_credential(&fake);
    assert_ne!(new, old);
    assert_ne!(secret_of(&rotated), secret_of(&first));
    assert!(
        rotated.stderr.contains(&format!(
            "rotated Deepgram credential {old} for quay.io (older than rotate_after): now {new}"
        )),
        "{rotated:?}"
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "90d");
    let requests = fake.requests().len();
    let again = env.get("quay.io");
    assert_eq!(secret_of(&again), secret_of(&rotated));
    assert_eq!(fake.requests().len(), requests);
}

#[test]
fn a_rotation_that_fails_in_get_answers_the_stored_credential() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    let first = env.get("quay.io");
    first.ok();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "0s");
    fake.set_sticky_fault(
        "POST",
        "/distribution/credentials",
        FakeDeepgram::status_fault(403),
    );
    let run = env.get("quay.io");
    run.ok();
    assert_eq!(secret_of(&run), secret_of(&first));
    assert!(
        run.stderr.contains("could not rotate Deepgram credential"),
        "{run:?}"
    );
    let creates = fake.creates();
    // Not tried again within a minute.
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), creates);
}

/// A comment with another install's tag.
const OTHER_INSTALL: &str = "docker-credential-deepgram on gone-node [dcd:0000deadbeef:a1b2c3]";

#[test]
fn prune_removes_our_orphan_and_keeps_the_current_and_hand_made_ones() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    // An ambiguous create: the API made the credential, the answer never came.
    fake.push_fault("POST", "/distribution/credentials", Fault::Hangup);
    let failed = env.get("quay.io");
    assert_eq!(failed.code, 1, "{failed:?}");
    let orphan = only_credential(&fake);
    env.get("quay.io").ok();
    let current = env.run(&["status", "--json"], b"");
    let status: serde_json::Value = serde_json::from_str(&current.stdout).unwrap();
    let current = status["credentials"]["quay.io"]["provisioned"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_hand = fake.insert_credential("made by hand", "2020-01-01T00:00:00Z");
    let other = fake.insert_credential(OTHER_INSTALL, "2020-01-01T00:00:00Z");

    let dry = env.run(&["prune", "--dry-run"], b"");
    dry.ok();
    assert!(
        dry.stdout
            .starts_with(&format!("would delete {orphan} (orphan): comment ")),
        "{dry:?}"
    );
    assert_eq!(dry.stdout.lines().count(), 1, "{dry:?}");
    assert_eq!(fake.deletes(), 0);
    assert_eq!(fake.credential_ids().len(), 4);

    let refused = env.run(&["prune"], b"");
    assert!(refused.stderr.contains("rerun with --yes"), "{refused:?}");
    assert_eq!(fake.deletes(), 0);

    let run = env.run(&["prune", "--yes"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("will delete {orphan} (orphan)")),
        "{run:?}"
    );
    assert!(
        run.stdout.ends_with(&format!("deleted {orphan}\n")),
        "{run:?}"
    );
    let mut left = fake.credential_ids();
    left.sort();
    let mut expected = vec![current, by_hand, other];
    expected.sort();
    assert_eq!(left, expected);
    // The orphan's marker is resolved.
    let status = env.run(&["status", "--json"], b"");
    let value: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(value["unfinished"], serde_json::json!([]));
}

#[test]
fn prune_all_installs_older_than_removes_only_old_credentials_of_other_installs() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.get("quay.io").ok();
    let current = only_credential(&fake);
    let old = fake.insert_credential(OTHER_INSTALL, "2020-01-01T00:00:00Z");
    let recent = fake.insert_credential(
        "docker-credential-deepgram on live-node [dcd:0000cafe0000:000001]",
        "2999-01-01T00:00:00Z",
    );
    let by_hand = fake.insert_credential("made by hand", "2020-01-01T00:00:00Z");
    let refused = env.run(&["prune", "--all-installs", "--yes"], b"");
    assert!(
        refused.stderr.contains("--all-installs needs --older-than"),
        "{refused:?}"
    );

    let run = env.run(
        &[
            "prune",
            "--all-installs",
            "--older-than",
            "30d",
            "--yes",
            "--json",
        ],
        b"",
    );
    run.ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["deleted"], serde_json::json!([old]));
    assert_eq!(value["planned"][0]["reason"], "other install");
    let mut left = fake.credential_ids();
    left.sort();
    let mut expected = vec![current, recent, by_hand];
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn prune_reports_each_failed_delete_and_fails() {
    let fake = FakeDeepgram::start();
    let env = lifecycle_env(&fake);
    env.get("quay.io").ok();
    let install = {
        let status = env.run(&["status", "--json"], b"");
        let value: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
        value["install_id"].as_str().unwrap().to_string()
    };
    let orphan =
        fake.insert_credential(&format!("x [dcd:{install}:ffffff]"), "2020-01-01T00:00:00Z");
    fake.set_sticky_fault("DELETE", &orphan, FakeDeepgram::status_fault(403));
    let run = env.run(&["prune", "--yes"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(&format!(
            "could not delete {orphan}: the Deepgram API key lacks permission (403"
        )),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("prune: 1 of 1 deletes failed"),
        "{run:?}"
    );
    fake.set_sticky_fault(
        "GET",
        "/distribution/credentials",
        FakeDeepgram::status_fault(401),
    );
    let run = env.run(&["prune", "--yes"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("prune: the Deepgram API rejected the API key (401"),
        "{run:?}"
    );
}

#[test]
fn status_remote_tells_current_orphan_and_other_apart_without_a_secret() {
    let fake = FakeDeepgram::start();
    let mut env = lifecycle_env(&fake);
    fake.push_fault("POST", "/distribution/credentials", Fault::Hangup);
    assert_eq!(env.get("quay.io").code, 1);
    let orphan = only_credential(&fake);
    let got = env.get("quay.io");
    got.ok();
    let by_hand = fake.insert_credential("made by hand", "2020-01-01T00:00:00Z");
    let other = fake.insert_credential(OTHER_INSTALL, "2020-01-01T00:00:00Z");

    let run = env.run(&["status", "--remote", "--json"], b"");
    run.ok();
    assert!(!run.stdout.contains(&secret_of(&got)));
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let current = value["credentials"]["quay.io"]["provisioned"]["id"].clone();
    let list = value["remote"]["credentials"].as_array().unwrap();
    let relation = |id: &serde_json::Value| {
        list.iter()
            .find(|c| c["id"] == *id)
            .map(|c| c["relation"].as_str().unwrap().to_string())
    };
    assert_eq!(relation(&current).as_deref(), Some("current"));
    assert_eq!(relation(&orphan.as_str().into()).as_deref(), Some("orphan"));
    assert_eq!(relation(&by_hand.as_str().into()).as_deref(), Some("other"));
    assert_eq!(relation(&other.as_str().into()).as_deref(), Some("other"));
    assert_eq!(value["remote"]["project_id"], fake.project_id().as_str());
    let entry = list.iter().find(|c| c["id"] == current).unwrap();
    assert_eq!(entry["registry"], "quay.io");
    assert_eq!(
        entry["username"],
        format!("deepgram+{}", current.as_str().unwrap()).as_str()
    );

    let text = env.run(&["status", "--remote"], b"");
    text.ok();
    assert!(
        text.stdout
            .contains(&format!("  {orphan} orphan: username deepgram+{orphan}")),
        "{text:?}"
    );
    assert!(
        text.stdout.contains(&format!(
            "  {} current for quay.io:",
            current.as_str().unwrap()
        )),
        "{text:?}"
    );

    env.unset("DEEPGRAM_API_KEY");
    let run = env.run(&["status", "--remote"], b"");
    run.ok();
    assert!(
        run.stdout.contains("credential quay.io: username"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("remote credentials: not shown: no Deepgram API key"),
        "{run:?}"
    );

    env.set("DEEPGRAM_API_KEY", "wrong");
    let run = env.run(&["status", "--remote"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("credential quay.io: username"),
        "{run:?}"
    );
    assert!(run.stderr.contains("status: cannot list the project's credentials: the Deepgram API rejected the API key (401"), "{run:?}");
}

#[test]
fn the_kubelet_mode_replaces_a_credential_deleted_behind_its_back() {
    let fake = FakeDeepgram::start();
    let (env, first) = provisioned_env(&fake);
    let old = only_credential(&fake);
    fake.remove_credential(&old);
    let request = r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"quay.io/deepgram/self-hosted-api:release-260812"}"#;
    let run = env.run(&["kubelet"], request.as_bytes());
    run.ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let password = value["auth"]["quay.io"]["password"].as_str().unwrap();
    assert_ne!(password, first);
    assert!(
        run.stderr.contains(&format!(
            "Deepgram credential {old} for quay.io no longer exists"
        )),
        "{run:?}"
    );
    assert_ne!(only_credential(&fake), old);
    assert_eq!(fake.creates(), 2);
}

#[test]
fn a_not_found_that_the_list_contradicts_erases_nothing() {
    let fake = FakeDeepgram::start();
    let (env, first) = provisioned_env(&fake);
    let id = only_credential(&fake);
    // A 404 for the get-one route while the credential is listed: the route, not the credential.
    fake.set_sticky_fault("GET", &id, FakeDeepgram::status_fault(404));
    let run = env.get("quay.io");
    run.ok();
    assert_eq!(secret_of(&run), first);
    assert_eq!(run.stderr, "");
    assert_eq!((fake.gets(), fake.lists(), fake.creates()), (1, 1, 1));
    assert_eq!(fake.credential_ids(), vec![id]);
}
