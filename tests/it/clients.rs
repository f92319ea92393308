//! Real clients end to end: `configure` on real files, then skopeo, podman and the docker CLI
//! against a real `docker-registry` with credentials that came only from the helper (provisioned
//! through the loopback fake Deepgram API). `docker pull` through a real engine is in engine.rs.

use crate::support;

use crate::support::registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use registry::Registry;
use support::fake_deepgram::FakeDeepgram;
use support::{Run, TestEnv, finish, get_json, mode, spawn_with_input};

const ID: &str = "5a5a5a5a-0000-4000-8000-0000000000e2";
const USERNAME: &str = "deepgram+5a5a5a5a-0000-4000-8000-0000000000e2";
const SECRET: &str = "QUAYROBOTSECRET0123456789";

/// A user's machine: temp HOME with the helper on PATH (a directory holding only it), a real
/// keychain, a fake API whose credential the local registry accepts, and client config
/// variables pointing into HOME.
struct Machine {
    env: TestEnv,
    fake: FakeDeepgram,
    registry: Registry,
}

impl Machine {
    fn new() -> Machine {
        let registry = Registry::start(USERNAME, SECRET);
        registry.push_test_image("deepgram/self-hosted-api", USERNAME, SECRET);
        let fake = FakeDeepgram::start();
        fake.set_credential(ID, SECRET);
        let mut env = TestEnv::machine(&fake, &registry.host());
        env.set(
            "REGISTRY_AUTH_FILE",
            &env.home()
                .join(".config/containers/auth.json")
                .display()
                .to_string(),
        );
        Machine {
            env,
            fake,
            registry,
        }
    }

    fn docker_config(&self) -> PathBuf {
        self.env.home().join(".docker/config.json")
    }

    fn auth_file(&self) -> PathBuf {
        self.env.home().join(".config/containers/auth.json")
    }

    /// A client program with the same environment the helper gets.
    fn client_command(&self, program: &str, args: &[&str]) -> Command {
        self.env.client_command(program, args)
    }

    fn client(&self, program: &str, args: &[&str]) -> Output {
        self.client_command(program, args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {program} ({err}): ./test.sh installs the clients the tests drive"
                )
            })
    }

    fn image(&self) -> String {
        format!(
            "docker://{}/deepgram/self-hosted-api:latest",
            self.registry.host()
        )
    }
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout {}\nstderr {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn skopeo_pulls_with_credentials_that_came_only_from_the_helper() {
    let machine = Machine::new();
    let configured = machine.env.run(&["configure"], b"");
    assert_eq!(configured.code, 0, "{configured:?}");
    assert!(
        !configured.stdout.contains("warning"),
        "helper is on PATH: {configured:?}"
    );
    let auth_file = std::fs::read_to_string(machine.auth_file()).unwrap();
    assert!(auth_file.contains(&format!("\"{}\": \"deepgram\"", machine.registry.host())));

    let inspect = machine.client(
        "skopeo",
        &["inspect", "--tls-verify=false", &machine.image()],
    );
    assert!(inspect.status.success(), "{}", text(&inspect));
    assert_eq!(machine.fake.creates(), 1, "provisioned on the first call");

    let dest = machine.env.root.path().join("pulled");
    let copy = machine.client(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            &machine.image(),
            &format!("dir:{}", dest.display()),
        ],
    );
    assert!(copy.status.success(), "{}", text(&copy));
    assert!(dest.join("manifest.json").exists());
    assert_eq!(machine.fake.creates(), 1, "the second run creates nothing");

    // nothing secret in any client file
    assert!(machine.env.files_containing(SECRET).is_empty());
}

#[test]
fn a_wrong_secret_fails_with_the_registrys_401_not_a_helper_error() {
    let machine = Machine::new();
    machine.env.run(&["configure"], b"").ok();
    // The user stored a stale secret by hand.
    machine
        .env
        .store(&machine.registry.host(), USERNAME, "WRONGSECRET")
        .ok();
    let inspect = machine.client(
        "skopeo",
        &["inspect", "--tls-verify=false", &machine.image()],
    );
    assert!(!inspect.status.success());
    let stderr = String::from_utf8_lossy(&inspect.stderr);
    assert!(
        stderr.contains("unauthorized") || stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains("error getting credentials"), "{stderr}");
    assert_eq!(machine.fake.creates(), 0);
}

#[test]
fn docker_login_stores_through_the_helper_and_logout_erases() {
    let machine = Machine::new();
    machine.env.run(&["configure"], b"").ok();
    let host = machine.registry.host();
    let mut docker_login = machine.client_command(
        "docker",
        &["login", &host, "-u", USERNAME, "--password-stdin"],
    );
    let login = finish(spawn_with_input(&mut docker_login, SECRET.as_bytes()));
    assert_eq!(login.code, 0, "{login:?}");
    assert_eq!(
        machine.env.get(&host).stdout,
        get_json(&host, USERNAME, SECRET)
    );
    let config = std::fs::read_to_string(machine.docker_config()).unwrap();
    assert!(!config.contains(SECRET), "{config}");
    assert_eq!(
        machine.fake.creates(),
        0,
        "docker login's credential was used"
    );

    let logout = machine.client("docker", &["logout", &host]);
    assert!(logout.status.success(), "{}", text(&logout));
    assert_eq!(machine.env.run(&["list"], b"").stdout, "{}\n");
}

// `configure` on real files, through the binary.

fn configure(env: &TestEnv, args: &[&str]) -> Run {
    let mut all = vec!["configure"];
    all.extend_from_slice(args);
    env.run(&all, b"")
}

fn files_env() -> TestEnv {
    let mut env = TestEnv::file_store();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES", "quay.io");
    env
}

fn docker_config(env: &TestEnv) -> PathBuf {
    env.home().join(".docker/config.json")
}

fn auth_file(env: &TestEnv) -> PathBuf {
    env.home().join(".config/containers/auth.json")
}

const CONFIGURED: &str = "{\n\t\"credHelpers\": {\n\t\t\"quay.io\": \"deepgram\"\n\t}\n}\n";

#[test]
fn configure_fresh_then_twice_then_undo() {
    let env = files_env();
    let first = configure(&env, &[]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("add credHelpers[\"quay.io\"] = \"deepgram\""),
        "{first:?}"
    );
    assert!(
        first
            .stdout
            .contains("warning: docker-credential-deepgram is not on PATH"),
        "{first:?}"
    );
    for file in [docker_config(&env), auth_file(&env)] {
        assert_eq!(std::fs::read_to_string(&file).unwrap(), CONFIGURED);
        assert_eq!(mode(&file), 0o600);
    }
    let second = configure(&env, &[]);
    assert_eq!(
        second.stdout.matches("already configured").count(),
        2,
        "{second:?}"
    );
    let undo = configure(&env, &["--undo"]);
    assert_eq!(undo.code, 0, "{undo:?}");
    assert!(
        !docker_config(&env).exists() && !auth_file(&env).exists(),
        "created files removed"
    );
}

#[test]
fn configure_keeps_other_keys_and_refuses_a_foreign_helper() {
    let env = files_env();
    std::fs::create_dir_all(docker_config(&env).parent().unwrap()).unwrap();
    let original = "{\"auths\":{\"ghcr.io\":{}},\"credHelpers\":{\"quay.io\":\"ecr-login\"},\"psFormat\":\"table\"}";
    std::fs::write(docker_config(&env), original).unwrap();
    let refused = configure(&env, &[]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(
            "already uses the credential helper `ecr-login` for quay.io: rerun with --force"
        ),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read_to_string(docker_config(&env)).unwrap(),
        original
    );
    assert!(
        !auth_file(&env).exists(),
        "nothing written when one file is refused"
    );

    let forced = configure(&env, &["--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(
        std::fs::read_to_string(docker_config(&env)).unwrap(),
        "{\n\t\"auths\": {\n\t\t\"ghcr.io\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"quay.io\": \"deepgram\"\n\t},\n\t\"psFormat\": \"table\"\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(configure_backup(&docker_config(&env))).unwrap(),
        original
    );
}

fn configure_backup(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        "{}.bak",
        path.file_name().unwrap().to_string_lossy()
    ))
}

#[test]
fn configure_dry_run_touches_nothing() {
    let env = files_env();
    let run = configure(&env, &["--dry-run"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("would change"), "{run:?}");
    assert!(
        run.stdout.contains("dry run: nothing was written"),
        "{run:?}"
    );
    assert!(!env.home().join(".docker").exists());
    assert!(!env.config_dir().join("configured.json").exists());
}

#[test]
fn configure_names_an_invalid_file_and_leaves_it() {
    let env = files_env();
    std::fs::create_dir_all(docker_config(&env).parent().unwrap()).unwrap();
    std::fs::write(docker_config(&env), "{\"credHelpers\": ").unwrap();
    let run = configure(&env, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "{} is not valid JSON",
            docker_config(&env).display()
        )),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(docker_config(&env)).unwrap(),
        "{\"credHelpers\": "
    );
}

#[test]
fn configure_follows_a_symlinked_config() {
    let env = files_env();
    let real = env.home().join("dotfiles/docker.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{}").unwrap();
    std::fs::create_dir_all(docker_config(&env).parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, docker_config(&env)).unwrap();
    configure(&env, &[]).ok();
    assert!(
        std::fs::symlink_metadata(docker_config(&env))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), CONFIGURED);
}

#[test]
fn configure_migrate_moves_plaintext_into_the_store() {
    let env = files_env();
    std::fs::create_dir_all(docker_config(&env).parent().unwrap()).unwrap();
    // what `docker login quay.io` leaves without a helper: base64 "alice:pw1"
    std::fs::write(
        docker_config(&env),
        "{\"auths\":{\"https://quay.io\":{\"auth\":\"YWxpY2U6cHcx\"}}}",
    )
    .unwrap();
    let offered = configure(&env, &["--no-migrate"]);
    assert!(
        offered
            .stdout
            .contains("run configure without --no-migrate"),
        "{offered:?}"
    );
    assert!(
        std::fs::read_to_string(docker_config(&env))
            .unwrap()
            .contains("YWxpY2U6cHcx")
    );

    let migrated = configure(&env, &["--migrate"]);
    assert_eq!(migrated.code, 0, "{migrated:?}");
    assert!(!migrated.stdout.contains("pw1"));
    let config = std::fs::read_to_string(docker_config(&env)).unwrap();
    assert!(!config.contains("YWxpY2U6cHcx"), "{config}");
    assert_eq!(
        env.get("quay.io").stdout,
        get_json("quay.io", "alice", "pw1")
    );
    // no client file, not even the backup, keeps the plaintext; the store holds the secret
    assert!(env.files_containing("YWxpY2U6cHcx").is_empty());
    assert_eq!(
        env.files_containing("pw1"),
        vec![env.config_dir().join("credentials.json")]
    );
    assert!(configure_backup(&docker_config(&env)).exists());
}

#[test]
fn configure_kubelet_writes_a_provider_config_and_says_which_flags() {
    let env = files_env();
    let path = env
        .root
        .path()
        .join("etc/kubernetes/credential-provider.yaml");
    let path_arg = path.display().to_string();
    let dry = configure(
        &env,
        &["--kubelet", "--dry-run", "--kubelet-config", &path_arg],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout
            .starts_with("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n"),
        "{dry:?}"
    );
    assert!(
        dry.stdout
            .contains("    matchImages:\n      - \"quay.io\"\n"),
        "{dry:?}"
    );
    assert!(
        dry.stderr.contains("--image-credential-provider-config="),
        "{dry:?}"
    );
    assert!(!path.exists());

    let wrote = configure(&env, &["--kubelet", "--kubelet-config", &path_arg]);
    assert_eq!(wrote.code, 0, "{wrote:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), dry.stdout);
    assert!(
        wrote
            .stdout
            .contains("--image-credential-provider-bin-dir="),
        "{wrote:?}"
    );
    assert!(
        configure(&env, &["--kubelet", "--kubelet-config", &path_arg])
            .stdout
            .contains("already configured")
    );

    std::fs::write(
        &path,
        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
    )
    .unwrap();
    let refused = configure(&env, &["--kubelet", "--kubelet-config", &path_arg]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--force"), "{refused:?}");
}

#[test]
fn podman_pulls_logs_in_and_out_through_the_helper() {
    let machine = Machine::new();
    machine.env.run(&["configure"], b"").ok();
    let storage = machine.env.root.path().join("podman");
    let root = storage.join("graph").display().to_string();
    let runroot = storage.join("run").display().to_string();
    let podman = |args: &[&str]| {
        let mut all = vec![
            "--storage-driver",
            "vfs",
            "--root",
            &root,
            "--runroot",
            &runroot,
        ];
        all.extend_from_slice(args);
        machine.client("podman", &all)
    };
    let image = format!(
        "{}/deepgram/self-hosted-api:latest",
        machine.registry.host()
    );
    let pull = podman(&["pull", "--tls-verify=false", &image]);
    assert!(pull.status.success(), "{}", text(&pull));
    assert_eq!(machine.fake.creates(), 1);

    let logout = podman(&["logout", &machine.registry.host()]);
    assert!(logout.status.success(), "{}", text(&logout));
    assert_eq!(
        machine.env.run(&["list"], b"").stdout,
        "{}\n",
        "erased through the helper"
    );
    let auth_file = std::fs::read_to_string(machine.auth_file()).unwrap();
    assert!(
        auth_file.contains("\"deepgram\""),
        "credHelpers kept: {auth_file}"
    );
}
