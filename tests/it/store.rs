//! The store's promises end to end: a credential in an unreachable keychain is an error, not a
//! reason to create a second one; `logout` removes the API key everywhere `get` reads it;
//! temp files a killed write left are removed by the next command.

use crate::support;

use support::fake_deepgram::FakeDeepgram;
use support::{STORE, TestEnv};

#[test]
fn a_credential_in_an_unreachable_keychain_is_an_error_and_nothing_is_created() {
    let fake = FakeDeepgram::start();
    let mut env = TestEnv::keyring();
    // `auto`, the default: what it does when the keychain it used is out of reach
    env.unset(STORE);
    env.point_at(&fake);
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);

    // cron, `su -`, CI: the same user and config, no session bus
    let keyring = env.keyring.take();
    let run = env.get("quay.io");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "the credential for quay.io is in the keychain, which this process cannot reach ("
        ),
        "{run:?}"
    );
    for fix in [
        "DBUS_SESSION_BUS_ADDRESS",
        "DOCKER_CREDENTIAL_DEEPGRAM_STORE=file",
    ] {
        assert!(run.stdout.contains(fix), "{fix}: {run:?}");
    }
    assert_eq!(run.stdout.lines().count(), 1);
    assert_eq!(fake.creates(), 1, "no second remote credential");
    // erase does not silently forget it either
    assert_eq!(env.run(&["erase"], b"quay.io").code, 1);

    env.keyring = keyring;
    env.get("quay.io").ok();
    assert_eq!(fake.creates(), 1);
}

#[test]
fn logout_removes_a_key_saved_in_the_fallback_file_and_status_names_that_file() {
    let fake = FakeDeepgram::start();
    let mut env = TestEnv::keyring();
    // `auto`, the default: without a keychain, login falls back to the file store
    env.unset(STORE);
    env.point_at(&fake);
    env.unset("DEEPGRAM_API_KEY");
    // saved while no keychain was reachable: it lands in the 0600 file
    let keyring = env.keyring.take();
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    env.keyring = keyring;
    let file = env.config_dir().join("credentials.json");
    assert_eq!(env.files_containing(&fake.api_key()), vec![file.clone()]);

    let status = env.run(&["status"], b"");
    assert!(
        status
            .stdout
            .contains(&format!("API key: saved by login (in {})", file.display())),
        "{status:?}"
    );
    let out = env.run(&["logout"], b"");
    assert_eq!(
        out.stdout,
        format!(
            "removed the saved Deepgram API key from {}\n",
            file.display()
        )
    );
    assert!(env.files_containing(&fake.api_key()).is_empty());
    assert!(env.run(&["status"], b"").stdout.contains("API key: none"));
    // and get no longer uses it
    let run = env.get("quay.io");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no Deepgram API key"), "{run:?}");
    assert_eq!(fake.creates(), 0);
}

#[test]
fn temp_files_a_killed_write_left_are_removed_by_the_next_command() {
    for mut env in [TestEnv::file_store(), TestEnv::keyring()] {
        env.store("a.example", "u", "p1").ok();
        let dir = env.config_dir();
        // what SIGKILL between create and rename leaves, with this very pid reused
        let leftovers = [
            dir.join(".credentials.json.4242.0.tmp"),
            dir.join(".index.json.4242.0.tmp"),
            dir.join(".credentials.json.7.deadbeef0000.tmp"),
        ];
        for leftover in &leftovers {
            std::fs::write(
                leftover,
                "{\"secrets\":{\"registry:a.example\":\"OLDSECRET\"}}",
            )
            .unwrap();
        }
        env.get("a.example").ok();
        for leftover in &leftovers {
            assert!(!leftover.exists(), "{}", leftover.display());
        }
        assert!(env.files_containing("OLDSECRET").is_empty());
        env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "off");
        env.store("a.example", "u", "p2").ok();
    }
}
