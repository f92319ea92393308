//! Safe at fleet scale: remote actions raced against each other, rotation that cannot loop or
//! leak, the grace period that keeps copies of a retired credential working, memory of a
//! failure that follows its inputs, and the call log's honest outcomes. The real binary, the
//! loopback fake of the Deepgram API (counting every operation), the file store (these are
//! tests of the credential path, not of the keychain).

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{Run, TestEnv};

/// A file-store environment pointed at `fake` with its valid key and project, every `get` due
/// for a check.
fn fleet_env(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::file_store().pointed_at(fake);
    env.quick_retries();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REVALIDATE_AFTER", "0s");
    env
}

fn secret_of(run: &Run) -> String {
    let value: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("get answered JSON: {run:?}"));
    value["Secret"].as_str().unwrap().to_string()
}

/// The index, as the helper wrote it.
fn index(env: &TestEnv) -> Value {
    let text = std::fs::read_to_string(env.config_dir().join("index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Changes the index as time would: the tests control the clock through what it records.
fn edit_index(env: &TestEnv, change: impl FnOnce(&mut Value)) {
    let mut value = index(env);
    change(&mut value);
    std::fs::write(
        env.config_dir().join("index.json"),
        serde_json::to_string(&value).unwrap(),
    )
    .unwrap();
}

/// The Deepgram id stored for quay.io.
fn stored_id(env: &TestEnv) -> String {
    index(env)["entries"]["quay.io"]["provisioned"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("nothing provisioned: {}", index(env)))
        .to_string()
}

/// The `outcome=` of every line of a call log.
fn outcomes(log: &str) -> Vec<&str> {
    log.lines()
        .map(|line| {
            line.split(" outcome=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect()
}

/// Every retiring record's deadline moved into the past.
fn end_every_grace(env: &TestEnv) {
    edit_index(env, |index| {
        for old in index["to_delete"].as_array_mut().unwrap() {
            old["delete_after"] = Value::from(1);
        }
    });
}

#[test]
fn a_server_that_dates_every_credential_2001_causes_no_rotation() {
    let fake = FakeDeepgram::start();
    fake.set_created("2001-01-01T00:00:00.000000Z");
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "90d");
    let first = env.get("quay.io");
    first.ok();
    for _ in 0..5 {
        let run = env.get("quay.io");
        run.ok();
        assert_eq!(secret_of(&run), secret_of(&first), "{run:?}");
    }
    assert_eq!((fake.creates(), fake.deletes()), (1, 0));
}

#[test]
fn rotate_keeps_the_old_credential_live_and_named_until_the_grace_has_passed() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    let first = env.get("quay.io");
    first.ok();
    let old = stored_id(&env);
    let run = env.run(&["rotate", "--yes"], b"");
    run.ok();
    let new = stored_id(&env);
    assert_ne!(new, old);
    assert!(
        run.stdout
            .contains(&format!("the old credential {old} stays live until")),
        "{run:?}"
    );
    assert_eq!(fake.credential_ids(), vec![old.clone(), new.clone()]);
    assert_eq!(fake.deletes(), 0);

    let status = env.run(&["status"], b"");
    status.ok();
    assert!(
        status
            .stdout
            .contains(&format!("retiring: Deepgram credential {old} (was quay.io")),
        "{status:?}"
    );
    let remote = env.run(&["status", "--remote", "--json"], b"");
    remote.ok();
    let value: Value = serde_json::from_str(&remote.stdout).unwrap();
    let relations: Vec<(String, String)> = value["remote"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["distribution_credentials_id"]
                    .as_str()
                    .or(c["id"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                c["relation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        relations.contains(&(old.clone(), "retiring".into())),
        "{relations:?}"
    );

    // Within the grace: a due get and prune leave it live.
    let again = env.get("quay.io");
    assert_ne!(secret_of(&again), secret_of(&first));
    env.run(&["prune", "--yes"], b"").ok();
    assert_eq!(fake.credential_ids(), vec![old.clone(), new.clone()]);

    // After it: the next due get deletes it.
    end_every_grace(&env);
    let after = env.get("quay.io");
    after.ok();
    assert_eq!(fake.credential_ids(), vec![new]);
    assert!(
        after
            .stderr
            .contains(&format!("deleted Deepgram credential {old}")),
        "{after:?}"
    );
    assert_eq!(index(&env).get("to_delete"), None, "{}", index(&env));
}

#[test]
fn erase_then_get_leaves_only_the_new_one_live_after_the_grace() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    env.get("quay.io").ok();
    let old = stored_id(&env);
    let erased = env.run(&["erase"], b"quay.io");
    erased.ok();
    // erase is local: no request, the old credential stays live and is recorded as retiring.
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(index(&env)["to_delete"][0]["id"], old.as_str());
    env.get("quay.io").ok();
    let new = stored_id(&env);
    assert_eq!(fake.credential_ids(), vec![old, new.clone()]);
    end_every_grace(&env);
    env.get("quay.io").ok();
    assert_eq!(fake.credential_ids(), vec![new]);
}

#[test]
fn a_grace_of_zero_still_deletes_at_once_and_the_kubelet_cache_lengthens_the_grace() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "0s");
    env.get("quay.io").ok();
    env.run(&["rotate", "--yes"], b"").ok();
    assert_eq!(fake.credential_ids(), vec![stored_id(&env)]);

    // A kubelet that caches answers for 48h keeps a retired credential live that long even
    // with a 1h grace.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "1h");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_KUBELET_CACHE_DURATION", "48h");
    let request = br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"quay.io/deepgram/self-hosted-api:latest"}"#;
    env.run(&["kubelet"], request).ok();
    env.run(&["rotate", "--yes"], b"").ok();
    let deadline = index(&env)["to_delete"][0]["delete_after"]
        .as_u64()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(deadline >= now + 47 * 3600, "{deadline} vs {now}");
}

#[test]
fn three_due_rotations_against_a_create_that_answers_too_late_leave_at_most_two_live() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.get("quay.io").ok();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "0s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT", "1s");
    let late = Duration::from_millis(1500);
    fake.set_sticky_fault("POST", "/distribution/credentials", Fault::Slow(late));
    let mut most_live = 0;
    for _ in 0..3 {
        let run = env.get("quay.io");
        run.ok();
        // The late create lands on the server after the client gave up.
        std::thread::sleep(late + Duration::from_millis(300));
        most_live = most_live.max(fake.credential_ids().len());
        // A minute (and more) later, as far as the back-off can tell.
        edit_index(&env, |index| {
            index["entries"]["quay.io"]["provisioned"]["check_failed_at"] = Value::from(1);
        });
    }
    assert!(
        most_live <= 2,
        "{most_live} live: {:?}",
        fake.credential_ids()
    );
    assert!(
        fake.credential_ids().len() <= 2,
        "{:?}",
        fake.credential_ids()
    );
}

#[test]
fn prune_racing_a_self_healing_get_leaves_the_credential_in_use_live() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    env.get("quay.io").ok();
    // Deleted in the Console: the next due get heals it, with a slow create.
    assert!(fake.remove_credential(&stored_id(&env)));
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        Fault::Slow(Duration::from_millis(800)),
    );
    let get = env.spawn(&["get"], b"quay.io");
    std::thread::sleep(Duration::from_millis(300));
    let prune = env.spawn(&["prune", "--yes"], b"");
    let (get, prune) = (support::finish(get), support::finish(prune));
    get.ok();
    prune.ok();
    let in_use = stored_id(&env);
    assert_eq!(fake.credential_ids(), vec![in_use.clone()], "{prune:?}");
    // The answer is the live one: the next get needs no heal.
    let again = env.get("quay.io");
    assert_eq!(secret_of(&again), secret_of(&get));
    assert_eq!(fake.creates(), 2);
}

#[test]
fn prune_racing_a_rotate_leaves_the_new_and_the_retiring_credential_live() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    env.get("quay.io").ok();
    let old = stored_id(&env);
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        Fault::Slow(Duration::from_millis(800)),
    );
    let rotate = env.spawn(&["rotate", "--yes"], b"");
    std::thread::sleep(Duration::from_millis(300));
    let prune = env.spawn(&["prune", "--yes"], b"");
    let get = env.spawn(&["get"], b"quay.io");
    let (rotate, prune, get) = (
        support::finish(rotate),
        support::finish(prune),
        support::finish(get),
    );
    rotate.ok();
    prune.ok();
    get.ok();
    let new = stored_id(&env);
    assert_eq!(fake.credential_ids(), vec![old, new], "{prune:?}");
}

#[test]
fn eight_parallel_first_gets_log_exactly_one_created() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    let log = env.config_dir().join("calls.log");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE", log.to_str().unwrap());
    let children: Vec<_> = (0..8).map(|_| env.spawn(&["get"], b"quay.io")).collect();
    for child in children {
        support::finish(child).ok();
    }
    assert_eq!(fake.creates(), 1);
    let text = std::fs::read_to_string(&log).unwrap();
    let outcomes = outcomes(&text);
    assert_eq!(outcomes.len(), 8, "{text}");
    assert_eq!(
        outcomes.iter().filter(|o| **o == "created").count(),
        1,
        "{text}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| ["created", "waited", "hit"].contains(o)),
        "{text}"
    );
}

#[test]
fn a_get_that_heals_or_rotates_says_so_in_the_log_and_names_the_new_id() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE", "calls.log");
    env.get("quay.io").ok();
    assert!(fake.remove_credential(&stored_id(&env)));
    let healed = env.get("quay.io");
    healed.ok();
    let new = stored_id(&env);
    assert!(
        healed.stderr.contains(&format!(
            "created Deepgram credential {new} for quay.io in its place"
        )),
        "{healed:?}"
    );
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "0s");
    env.get("quay.io").ok();
    // A relative log_file lives in the config dir, never the working directory.
    let text = std::fs::read_to_string(env.config_dir().join("calls.log")).unwrap();
    let outcomes = outcomes(&text);
    assert_eq!(outcomes, ["created", "healed", "rotated"], "{text}");
}

#[test]
fn the_right_key_works_at_once_after_a_remembered_failure() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    env.set(
        "DEEPGRAM_API_KEY",
        "0123456789abcdef0123456789abcdef01234567",
    );
    let wrong = env.get("quay.io");
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let requests = fake.requests().len();
    let replayed = env.get("quay.io");
    assert_eq!(replayed.code, 1);
    assert!(
        replayed.stderr.contains("no request is made"),
        "{replayed:?}"
    );
    assert_eq!(fake.requests().len(), requests);
    env.set("DEEPGRAM_API_KEY", &fake.api_key());
    env.get("quay.io").ok();
    assert_eq!(fake.credential_ids().len(), 1);
}

#[test]
fn prune_clears_the_memory_of_the_ambiguous_create_it_resolved() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    fake.push_fault("POST", "/distribution/credentials", Fault::Hangup);
    let failed = env.get("quay.io");
    assert_eq!(failed.code, 1, "{failed:?}");
    assert!(failed.stderr.contains("may have succeeded"), "{failed:?}");
    let pruned = env.run(&["prune", "--yes"], b"");
    pruned.ok();
    assert!(pruned.stdout.contains("deleted "), "{pruned:?}");
    assert_eq!(fake.credential_ids(), Vec::<String>::new());
    let after = env.get("quay.io");
    after.ok();
    assert!(!after.stderr.contains("Console"), "{after:?}");
    assert_eq!(fake.creates(), 2);
}

#[test]
fn prune_all_installs_refuses_an_age_under_a_day() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    for age in ["0s", "23h"] {
        let run = env.run(
            &["prune", "--all-installs", "--older-than", age, "--yes"],
            b"",
        );
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("under a day"), "{run:?}");
        assert!(run.stderr.contains("rotate_after"), "{run:?}");
    }
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn a_username_with_terminal_controls_is_refused_and_its_credential_deleted() {
    let fake = FakeDeepgram::start();
    fake.set_username("deepgram+x\u{1b}]0;pwned\u{7}");
    let env = fleet_env(&fake);
    let run = env.get("quay.io");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
        "{run:?}"
    );
    assert!(run.stderr.contains("control characters"), "{run:?}");
    assert_eq!(fake.credential_ids(), Vec::<String>::new());
    assert_eq!(index(&env)["entries"], serde_json::json!({}));
}

#[test]
fn revoke_all_deletes_every_credential_of_this_install_and_only_those() {
    let fake = FakeDeepgram::start();
    let env = fleet_env(&fake);
    env.get("quay.io").ok();
    env.run(&["rotate", "--yes"], b"").ok();
    let hand_made = fake.insert_credential("made by hand", "2024-01-01T00:00:00Z");
    assert_eq!(fake.credential_ids().len(), 3);
    let run = env.run(&["revoke", "--all", "--yes"], b"");
    run.ok();
    assert_eq!(fake.credential_ids(), vec![hand_made]);
    assert!(run.stdout.contains("deleted 2"), "{run:?}");
    assert_eq!(index(&env)["entries"], serde_json::json!({}));
}

#[test]
fn human_commands_keep_their_error_kinds_in_the_call_log_and_their_hints() {
    let fake = FakeDeepgram::start();
    let mut env = fleet_env(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE", "calls.log");
    let usage = env.run(
        &["prune", "--all-installs", "--older-than", "1h", "--yes"],
        b"",
    );
    assert_eq!(usage.code, 1, "{usage:?}");
    let nothing = env.run(&["rotate", "--yes"], b"");
    assert_eq!(nothing.code, 1, "{nothing:?}");
    env.set(
        "DEEPGRAM_API_KEY",
        "0123456789abcdef0123456789abcdef01234567",
    );
    let rejected = env.run(&["status", "--remote"], b"");
    assert_eq!(rejected.code, 1, "{rejected:?}");
    // The API error's own hint survives the command's error.
    assert!(
        rejected.stderr.contains(
            "status: cannot list the project's credentials: the Deepgram API rejected the API key"
        ) && rejected
            .stderr
            .contains("the key comes from DEEPGRAM_API_KEY"),
        "{rejected:?}"
    );
    let text = std::fs::read_to_string(env.config_dir().join("calls.log")).unwrap();
    let kinds: Vec<&str> = text
        .lines()
        .map(|line| {
            line.split(" outcome=\"error: ")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["usage", "not-ours", "api"], "{text}");
}
