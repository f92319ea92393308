//! `configure` on bad days: plaintext logins made before install, a credential the helper
//! already holds, a failure halfway through, `sudo`, and flags that contradict each other.

use crate::support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use support::fake_deepgram::FakeDeepgram;
use support::{Run, TestEnv, get_json, mode};

/// `docker login quay.io` without a helper: base64 "alice:pw1".
const ALICE: &str = "{\"auths\":{\"quay.io\":{\"auth\":\"YWxpY2U6cHcx\"}}}";

fn configure(env: &TestEnv, args: &[&str]) -> Run {
    let mut all = vec!["configure"];
    all.extend_from_slice(args);
    env.run(&all, b"")
}

fn provisioning_env(fake: &FakeDeepgram) -> TestEnv {
    TestEnv::file_store().pointed_at(fake)
}

fn docker_config(env: &TestEnv) -> PathBuf {
    env.home().join(".docker/config.json")
}

fn write_docker_config(env: &TestEnv, text: &str) {
    std::fs::create_dir_all(docker_config(env).parent().unwrap()).unwrap();
    std::fs::write(docker_config(env), text).unwrap();
}

fn backup(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        "{}.bak",
        path.file_name().unwrap().to_string_lossy()
    ))
}

#[test]
fn plain_configure_moves_a_login_made_before_install_so_get_uses_it() {
    let fake = FakeDeepgram::start();
    let env = provisioning_env(&fake);
    write_docker_config(&env, ALICE);
    let run = configure(&env, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let store = env.config_dir().join("credentials.json");
    assert!(
        run.stdout.contains(&format!(
            "move the plaintext credentials for \"quay.io\" out of this file into the file store ({})",
            store.display()
        )),
        "names the real backend: {run:?}"
    );
    assert!(!run.stdout.contains("keychain"), "{run:?}");
    assert_eq!(
        env.get("quay.io").stdout,
        get_json("quay.io", "alice", "pw1")
    );
    assert_eq!(fake.creates(), 0, "the login is used, nothing is created");
    assert!(env.files_containing("YWxpY2U6cHcx").is_empty());
}

#[test]
fn no_migrate_leaves_the_login_and_says_it_is_shadowed() {
    let env = TestEnv::file_store();
    write_docker_config(&env, ALICE);
    let run = configure(&env, &["--no-migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("which the helper now shadows: run configure without --no-migrate"),
        "{run:?}"
    );
    assert!(
        std::fs::read_to_string(docker_config(&env))
            .unwrap()
            .contains("YWxpY2U6cHcx")
    );
    assert!(!env.config_dir().join("credentials.json").exists());
}

#[test]
fn migration_never_replaces_a_credential_the_helper_created() {
    let fake = FakeDeepgram::start();
    fake.set_credential("64d1f840-3b7e-43b2-a7b6-d56756d4476d", "PROVISIONED-SECRET");
    let env = provisioning_env(&fake);
    let created = env.get("quay.io");
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(fake.creates(), 1);
    // a stale `docker login` left in config.json
    write_docker_config(&env, ALICE);
    let run = configure(&env, &["--migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("already holds another credential for quay.io (user deepgram+64d1f840-3b7e-43b2-a7b6-d56756d4476d): kept that one"),
        "{run:?}"
    );
    assert_eq!(
        env.get("quay.io").stdout,
        created.stdout,
        "ours still answers"
    );
    let index = std::fs::read_to_string(env.config_dir().join("index.json")).unwrap();
    assert!(
        index.contains("64d1f840-3b7e-43b2-a7b6-d56756d4476d"),
        "its Deepgram id stays tracked: {index}"
    );
    // the other secret is not lost: it stays where it was
    assert!(
        std::fs::read_to_string(docker_config(&env))
            .unwrap()
            .contains("YWxpY2U6cHcx")
    );
    assert_eq!(fake.creates(), 1);
}

#[test]
fn a_failure_on_the_second_file_leaves_the_first_recorded_for_undo() {
    let env = TestEnv::file_store();
    write_docker_config(&env, "{\"psFormat\":\"table\"}");
    let auth = env.home().join(".config/containers/auth.json");
    std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
    std::fs::write(&auth, "{}").unwrap();
    // the backup of the second file cannot be written: a directory stands where it goes
    std::fs::create_dir(backup(&auth)).unwrap();
    let run = configure(&env, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "already changed: {} (configure --undo removes what was recorded)",
            docker_config(&env).display()
        )),
        "{run:?}"
    );
    assert!(
        std::fs::read_to_string(docker_config(&env))
            .unwrap()
            .contains("deepgram")
    );
    assert_eq!(std::fs::read_to_string(&auth).unwrap(), "{}");

    let undo = configure(&env, &["--undo"]);
    assert_eq!(undo.code, 0, "{undo:?}");
    assert_eq!(
        std::fs::read_to_string(docker_config(&env)).unwrap(),
        "{\n\t\"psFormat\": \"table\"\n}\n"
    );
}

#[test]
fn as_root_a_users_files_and_new_directories_stay_theirs() {
    // The suite runs as root, like `sudo -E configure`: HOME belongs to another user.
    let env = TestEnv::file_store();
    let home = env.home();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    write_docker_config(&env, "{\"auths\":{\"ghcr.io\":{\"auth\":\"dTpw\"}}}");
    let docker_dir = docker_config(&env).parent().unwrap().to_path_buf();
    std::os::unix::fs::chown(&docker_dir, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(
        docker_config(&env),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::chown(docker_config(&env), Some(65534), Some(65534)).unwrap();

    let run = configure(&env, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let owner = |path: &Path| {
        let meta = std::fs::metadata(path).unwrap();
        (meta.uid(), meta.gid())
    };
    let auth = home.join(".config/containers/auth.json");
    for path in [
        docker_config(&env),
        backup(&docker_config(&env)),
        home.join(".config"),
        home.join(".config/containers"),
        auth.clone(),
    ] {
        assert_eq!(owner(&path), (65534, 65534), "{}", path.display());
    }
    assert_eq!(mode(&docker_config(&env)), 0o644, "the file keeps its mode");
    assert_eq!(
        mode(&backup(&docker_config(&env))),
        0o600,
        "the backup may hold plaintext auths"
    );
}

#[test]
fn undo_with_nothing_recorded_says_so() {
    let env = TestEnv::file_store();
    let run = configure(&env, &["--undo"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("nothing to undo: configured.json in "),
        "{run:?}"
    );
    assert!(!run.stdout.contains("already configured"), "{run:?}");
}

#[test]
fn contradictory_flags_and_relative_paths_are_refused() {
    let env = TestEnv::file_store();
    for (flags, message) in [
        (
            &["--undo", "--migrate"][..],
            "--undo and --migrate contradict each other",
        ),
        (
            &["--undo", "--kubelet"][..],
            "--undo and --kubelet contradict each other",
        ),
        (
            &["--undo", "--no-migrate"][..],
            "--undo and --no-migrate contradict each other",
        ),
        (
            &["--migrate", "--no-migrate"][..],
            "--migrate and --no-migrate contradict each other",
        ),
        (
            &["--state-dir", "/x"][..],
            "--state-dir goes with --kubelet",
        ),
        (
            &["--kubelet", "--dry-run", "--state-dir", "var/lib/dcd"][..],
            "--state-dir var/lib/dcd is a relative path",
        ),
    ] {
        let run = configure(&env, flags);
        assert_eq!(run.code, 1, "{flags:?}: {run:?}");
        assert!(run.stderr.contains(message), "{flags:?}: {run:?}");
        assert_eq!(run.stdout, "", "{flags:?}");
    }
    assert!(!env.home().join(".docker").exists());

    let run = env.run(&["export", "--format", "yaml", "--force"], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("unknown format \"yaml\": use secret or dockerconfigjson"),
        "{run:?}"
    );
}

#[test]
fn undo_works_from_its_record_whatever_config_toml_holds() {
    let env = TestEnv::file_store();
    let containers = env.home().join(".config/containers/auth.json");
    write_docker_config(&env, "{\"auths\":{}}");
    configure(&env, &[]).ok();
    assert!(
        std::fs::read_to_string(docker_config(&env))
            .unwrap()
            .contains("\"quay.io\": \"deepgram\"")
    );
    let config = env.config_dir().join("config.toml");
    for broken in [
        "store = \"nope\"\n",
        "store = \"file\"\nstore = \"file\"\n",
        "this is not toml\n",
    ] {
        std::fs::write(&config, broken).unwrap();
        // Everything else refuses the broken file...
        assert_eq!(env.run(&["status"], b"").code, 1);
        // ...but undo works from its record, and says what is wrong with the file.
        let run = configure(&env, &["--undo"]);
        assert_eq!(run.code, 0, "{broken}: {run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "docker-credential-deepgram: warning: {}: line ",
                config.display()
            )),
            "{run:?}"
        );
        assert!(run.stderr.contains("undoing from the record in"), "{run:?}");
        assert_eq!(
            std::fs::read_to_string(docker_config(&env)).unwrap().trim(),
            "{\n\t\"auths\": {}\n}",
            "{run:?}"
        );
        assert!(!containers.exists(), "{run:?}");
        // Configure again for the next broken variant (with a good file).
        std::fs::remove_file(&config).unwrap();
        configure(&env, &[]).ok();
    }
}
