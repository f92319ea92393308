//! Kubernetes: the binary as the kubelet runs it (root, bare environment, no HOME, no D-Bus,
//! a root-only state directory, the file store), and `export` of pull secrets.

use crate::support;

use crate::support::registry;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{BIN, Run, finish, mode, spawn_with_input};

const VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];

/// A node: a root-only state dir and the env a CredentialProviderConfig would give.
struct Node {
    root: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Node {
    fn new(fake: &FakeDeepgram) -> Node {
        let root = tempfile::tempdir().unwrap();
        let state = root.path().join("var/lib/docker-credential-deepgram");
        Node {
            env: vec![
                ("PATH".into(), std::env::var("PATH").unwrap()),
                (
                    "DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR".into(),
                    state.display().to_string(),
                ),
                ("DOCKER_CREDENTIAL_DEEPGRAM_STORE".into(), "file".into()),
                ("DOCKER_CREDENTIAL_DEEPGRAM_API_URL".into(), fake.url()),
                ("DEEPGRAM_API_KEY".into(), fake.api_key()),
                ("DEEPGRAM_PROJECT_ID".into(), fake.project_id()),
            ],
            root,
        }
    }

    fn state(&self) -> PathBuf {
        self.root.path().join("var/lib/docker-credential-deepgram")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        // no HOME, no XDG dirs, no bus: what the kubelet's exec gives a plugin on a node
        command
            .arg("kubelet")
            .env_clear()
            .envs(self.env.iter().cloned());
        command
    }

    fn spawn(&self, request: &str) -> std::process::Child {
        spawn_with_input(&mut self.command(), request.as_bytes())
    }

    fn run(&self, request: &str) -> Run {
        finish(self.spawn(request))
    }
}

fn request(version: &str, image: &str) -> String {
    format!(r#"{{"apiVersion":"{version}","kind":"CredentialProviderRequest","image":"{image}"}}"#)
}

#[test]
fn each_api_version_gets_credentials_in_its_own_version() {
    let fake = FakeDeepgram::start();
    fake.set_credential("6b6b6b6b-0000-4000-8000-000000000001", "NODESECRET");
    let node = Node::new(&fake);
    for version in VERSIONS {
        let run = node.run(&request(
            version,
            "quay.io/deepgram/self-hosted-api:release-260812",
        ));
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
        assert_eq!(
            run.stdout,
            format!(
                "{{\"apiVersion\":\"{version}\",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"12h0m0s\",\"auth\":{{\"quay.io\":{{\"username\":\"deepgram+6b6b6b6b-0000-4000-8000-000000000001\",\"password\":\"NODESECRET\"}}}}}}\n"
            )
        );
    }
    assert_eq!(fake.creates(), 1, "once per node, not once per pull");
    assert_eq!(mode(&node.state()), 0o700);
    assert_eq!(mode(&node.state().join("credentials.json")), 0o600);
}

#[test]
fn sixteen_simultaneous_pulls_make_one_create_and_a_restart_makes_none() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        Fault::Slow(std::time::Duration::from_millis(300)),
    );
    let node = Node::new(&fake);
    let image = request(
        VERSIONS[0],
        "quay.io/deepgram/self-hosted-engine:release-260812",
    );
    let children: Vec<_> = (0..16).map(|_| node.spawn(&image)).collect();
    let answers: Vec<String> = children
        .into_iter()
        .map(|child| {
            let run = finish(child);
            assert_eq!(run.code, 0, "{run:?}");
            run.stdout
        })
        .collect();
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(fake.creates(), 1);

    // A kubelet restart loses its in-memory cache; the node's state dir does not.
    let after_restart = node.run(&image);
    assert_eq!(after_restart.stdout, answers[0]);
    assert_eq!(fake.creates(), 1);
}

#[test]
fn an_image_from_another_registry_gets_empty_auth_and_no_api_call() {
    let fake = FakeDeepgram::start();
    let node = Node::new(&fake);
    for image in [
        "ubuntu:22.04",
        "registry.k8s.io/pause:3.9",
        "localhost:5000/x/y",
    ] {
        let run = node.run(&request(VERSIONS[1], image));
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(
            run.stdout,
            "{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1beta1\",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"12h0m0s\",\"auth\":{}}\n"
        );
    }
    assert!(fake.requests().is_empty());
    assert!(!node.state().exists(), "nothing touched the state dir");
}

#[test]
fn cache_duration_is_configurable() {
    let fake = FakeDeepgram::start();
    let mut node = Node::new(&fake);
    node.env.push((
        "DOCKER_CREDENTIAL_DEEPGRAM_KUBELET_CACHE_DURATION".into(),
        "90m".into(),
    ));
    let run = node.run(&request(VERSIONS[0], "ubuntu"));
    assert!(
        run.stdout.contains("\"cacheDuration\":\"1h30m0s\""),
        "{run:?}"
    );
}

#[test]
fn bad_requests_exit_non_zero_with_one_line_on_stderr() {
    let fake = FakeDeepgram::start();
    let node = Node::new(&fake);
    for (input, expected) in [
        ("not json", "not valid JSON"),
        (
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"Pod","image":"quay.io/x"}"#,
            "kind \"Pod\"",
        ),
        (
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v9","kind":"CredentialProviderRequest","image":"quay.io/x"}"#,
            "apiVersion \"credentialprovider.kubelet.k8s.io/v9\"",
        ),
        (
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest"}"#,
            "no image",
        ),
    ] {
        let run = node.run(input);
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.contains(expected), "{expected}: {run:?}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn a_node_without_an_api_key_is_told_how_to_set_one() {
    let fake = FakeDeepgram::start();
    let mut node = Node::new(&fake);
    node.env.retain(|(name, _)| name != "DEEPGRAM_API_KEY");
    let run = node.run(&request(VERSIONS[0], "quay.io/deepgram/self-hosted-api"));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("DEEPGRAM_API_KEY"), "{run:?}");
    // the exact command to run on the node, as `configure --kubelet` prints it
    assert!(
        run.stderr.contains(&format!(
            "save one with `DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR={} DOCKER_CREDENTIAL_DEEPGRAM_STORE=file {BIN} login < key.txt`",
            node.state().display()
        )),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
}

/// `export` through a shell pipe (stdout is not a terminal), with the fake behind it.
fn export(fake: &FakeDeepgram, home: &std::path::Path, args: &[&str]) -> Run {
    let output = Command::new(BIN)
        .arg("export")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", home.join("config"))
        .env("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file")
        .env("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", fake.url())
        .env("DEEPGRAM_API_KEY", fake.api_key())
        .env("DEEPGRAM_PROJECT_ID", fake.project_id())
        .env("DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES", "quay.io")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_exported_secret_is_what_kubectl_would_make_and_the_registry_accepts_it() {
    let fake = FakeDeepgram::start();
    fake.set_credential("7e7e7e7e-0000-4000-8000-000000000001", "EXPORTSECRET");
    let home = tempfile::tempdir().unwrap();
    let run = export(&fake, home.path(), &["--namespace", "dg-self-hosted"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(fake.creates(), 1, "provisioned first");
    assert!(run.stdout.starts_with(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dg-regcred\n  namespace: dg-self-hosted\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: "
    ), "{run:?}");
    let encoded = run
        .stdout
        .lines()
        .last()
        .unwrap()
        .trim()
        .trim_start_matches(".dockerconfigjson: ");
    let ours: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap();

    // kubectl's own generator, offline, for the same credential
    let kubectl = Command::new("kubectl")
        .args([
            "create",
            "secret",
            "docker-registry",
            "dg-regcred",
            "--docker-server=quay.io",
        ])
        .arg("--docker-username=deepgram+7e7e7e7e-0000-4000-8000-000000000001")
        .arg("--docker-password=EXPORTSECRET")
        .args(["--dry-run=client", "-o", "json"])
        .output()
        .expect("kubectl is installed (apt-get install kubernetes-client)");
    assert!(kubectl.status.success(), "{kubectl:?}");
    let theirs: serde_json::Value = serde_json::from_slice(&kubectl.stdout).unwrap();
    assert_eq!(theirs["type"], "kubernetes.io/dockerconfigjson");
    let theirs_config: serde_json::Value = serde_json::from_slice(
        &STANDARD
            .decode(theirs["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ours, theirs_config);

    // --format dockerconfigjson is just the JSON, and a real registry accepts what it holds
    let registry = registry::Registry::start(
        "deepgram+7e7e7e7e-0000-4000-8000-000000000001",
        "EXPORTSECRET",
    );
    registry.push_test_image(
        "deepgram/self-hosted-api",
        "deepgram+7e7e7e7e-0000-4000-8000-000000000001",
        "EXPORTSECRET",
    );
    let json = export(&fake, home.path(), &["--format", "dockerconfigjson"]);
    let config: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let auth = config["auths"]["quay.io"]["auth"].as_str().unwrap();
    let creds = String::from_utf8(STANDARD.decode(auth).unwrap()).unwrap();
    let inspect = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", &creds])
        .arg(format!(
            "docker://{}/deepgram/self-hosted-api:latest",
            registry.host()
        ))
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{inspect:?}");
    assert_eq!(
        fake.creates(),
        1,
        "the second export reused the stored credential"
    );
}

#[test]
fn export_refuses_a_terminal_and_bad_names() {
    let fake = FakeDeepgram::start();
    let home = tempfile::tempdir().unwrap();
    let bad = export(&fake, home.path(), &["--name", "Not_Valid"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("\"Not_Valid\" is not a valid Kubernetes name"),
        "{bad:?}"
    );
    let format = export(&fake, home.path(), &["--format", "xml"]);
    assert!(
        format.stderr.contains("unknown format \"xml\""),
        "{format:?}"
    );

    // `script` gives the helper a pseudo-terminal as stdout
    let command = format!(
        "env -i PATH=\"$PATH\" HOME={home} DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR={home}/config DOCKER_CREDENTIAL_DEEPGRAM_STORE=file {BIN} export",
        home = home.path().display()
    );
    let tty = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script is installed (util-linux)");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(!tty.status.success(), "{text}");
    assert!(
        text.contains("refusing to print a secret to a terminal"),
        "{text}"
    );
    assert!(
        fake.requests().is_empty(),
        "refused before provisioning anything"
    );
}
