//! `docker pull` and `docker run` through a real Docker engine: a private `dockerd`
//! (tests/support/dockerd.rs) pulls from a real `docker-registry` with htpasswd on loopback,
//! with credentials that came only from the helper (`credHelpers` written by `configure`, the
//! credential provisioned through the loopback fake Deepgram API with the one secret the
//! registry accepts). The fake's create counter is the proof of "exactly once".

use crate::support;

use crate::support::busybox_image;
use crate::support::dockerd;
use crate::support::registry;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dockerd::Dockerd;
use registry::Registry;
use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{TestEnv, files_containing};

const ID: &str = "5a5a5a5a-0000-4000-8000-0000000000e9";
const USERNAME: &str = "deepgram+5a5a5a5a-0000-4000-8000-0000000000e9";
const SECRET: &str = "QUAYENGINESECRET0123456789";
const REPO: &str = "deepgram/self-hosted-api";

/// How long one docker command may take (a pull of a 2 MB image takes well under a second).
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// A user's machine with a Docker engine: temp HOME with the helper on PATH, a real keychain,
/// `configure` run, a private dockerd, and a registry holding the busybox image under `tags`.
struct Machine {
    env: TestEnv,
    fake: FakeDeepgram,
    registry: Registry,
    engine: Dockerd,
}

impl Machine {
    fn new(tags: &[&str]) -> Machine {
        let registry = Registry::start(USERNAME, SECRET);
        let layout = busybox_image::write_layout(&registry.dir().join("busybox"));
        for tag in tags {
            busybox_image::push(&layout, &registry.host(), REPO, tag, USERNAME, SECRET);
        }
        let fake = FakeDeepgram::start();
        fake.set_credential(ID, SECRET);
        let engine = Dockerd::start();
        let mut env = TestEnv::machine(&fake, &registry.host());
        env.set("DOCKER_HOST", &engine.host());
        let machine = Machine {
            env,
            fake,
            registry,
            engine,
        };
        let configured = machine.env.run(&["configure"], b"");
        assert_eq!(configured.code, 0, "{configured:?}");
        let config = std::fs::read_to_string(machine.env.home().join(".docker/config.json"))
            .expect("configure wrote $DOCKER_CONFIG/config.json");
        assert!(
            config.contains(&format!("\"{}\": \"deepgram\"", machine.registry.host())),
            "credHelpers for the registry: {config}"
        );
        assert_eq!(machine.fake.creates(), 0);
        machine
    }

    fn image(&self, tag: &str) -> String {
        format!("{}/{REPO}:{tag}", self.registry.host())
    }

    /// Starts the docker CLI with the environment the helper gets, its output going to files.
    fn spawn_docker(&self, args: &[&str]) -> Running {
        let mut docker = self.env.client_command("docker", args);
        let logs = tempfile::tempdir_in(self.env.root.path()).unwrap();
        let stdout = logs.path().join("stdout");
        let stderr = logs.path().join("stderr");
        let child = docker
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot run docker ({err}): ./test.sh installs docker.io")
            });
        Running {
            what: format!("docker {}", args.join(" ")),
            child,
            stdout,
            stderr,
            _logs: logs,
        }
    }

    fn docker(&self, args: &[&str]) -> Outcome {
        self.spawn_docker(args).wait(Instant::now() + COMMAND_LIMIT)
    }

    /// What the helper's `list` shows: server names and usernames, no secrets.
    fn listed(&self) -> String {
        self.env.run(&["list"], b"").ok().stdout.clone()
    }
}

/// A docker command under way.
struct Running {
    what: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    _logs: tempfile::TempDir,
}

impl Running {
    /// Waits until `deadline`; a command still running then is killed and fails the test.
    fn wait(mut self, deadline: Instant) -> Outcome {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not finish in time", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Outcome {
            what: self.what,
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.stdout).unwrap(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap(),
        }
    }
}

#[derive(Debug)]
struct Outcome {
    what: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "{} failed: {self:#?}", self.what);
        self
    }
}

#[test]
fn engine_first_pull_creates_one_credential_then_pull_and_run_create_none() {
    let machine = Machine::new(&["latest"]);
    let image = machine.image("latest");

    let first = machine.docker(&["pull", &image]);
    first.ok();
    assert!(
        first.stdout.contains("Downloaded newer image"),
        "{first:#?}"
    );
    assert_eq!(machine.fake.creates(), 1, "the first pull provisioned");
    assert!(machine.listed().contains(USERNAME));

    let second = machine.docker(&["pull", &image]);
    second.ok();
    assert!(second.stdout.contains("Image is up to date"), "{second:#?}");
    let run = machine.docker(&[
        "run",
        "--network",
        "none",
        "--rm",
        &image,
        "/bin/busybox",
        "echo",
        "ran the pulled image",
    ]);
    run.ok();
    assert_eq!(run.stdout, "ran the pulled image\n", "{run:#?}");
    let default_command = machine.docker(&["run", "--network", "none", "--rm", &image]);
    assert_eq!(default_command.ok().stdout, "hello from busybox\n");
    assert_eq!(
        machine.fake.creates(),
        1,
        "later pulls and runs answered from the store"
    );

    // The secret is in the keychain only: not in the client config, not in the engine.
    assert!(machine.env.files_containing(SECRET).is_empty());
    assert!(files_containing(machine.engine.dir(), SECRET.as_bytes()).is_empty());
}

#[test]
fn engine_pull_of_an_image_the_registry_lacks_fails_with_the_registrys_not_found() {
    let machine = Machine::new(&["latest"]);
    let pull = machine.docker(&["pull", &machine.image("no-such-tag")]);
    assert_ne!(pull.code, 0, "{pull:#?}");
    // The registry's MANIFEST_UNKNOWN, passed on by the engine.
    assert!(
        pull.stderr.contains("manifest unknown"),
        "the registry's answer: {pull:#?}"
    );
    assert!(
        !pull.stderr.contains("error getting credentials"),
        "not a helper error: {pull:#?}"
    );
    assert!(
        !pull.stderr.contains("unauthorized"),
        "the helper's credential was accepted: {pull:#?}"
    );
    assert_eq!(machine.fake.creates(), 1);
}

#[test]
fn engine_eight_parallel_first_pulls_create_exactly_one_credential() {
    let tags = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];
    let machine = Machine::new(&tags);
    assert_eq!(machine.listed(), "{}\n", "nothing stored yet");
    // A slow first create keeps the race open: every pull asks the helper while it is under way.
    machine.fake.push_fault(
        "POST",
        "/self-hosted/distribution/credentials",
        Fault::Slow(Duration::from_millis(1500)),
    );
    let images: Vec<String> = tags.iter().map(|tag| machine.image(tag)).collect();
    let pulls: Vec<Running> = images
        .iter()
        .map(|image| machine.spawn_docker(&["pull", image]))
        .collect();
    let deadline = Instant::now() + COMMAND_LIMIT;
    for pull in pulls {
        pull.wait(deadline).ok();
    }
    assert_eq!(machine.fake.creates(), 1, "exactly one credential created");
    assert!(machine.listed().contains(USERNAME));
    let repository = format!("{}/{REPO}", machine.registry.host());
    let listed = machine.docker(&["images", "--format", "{{.Tag}}", &repository]);
    let mut pulled: Vec<&str> = listed.ok().stdout.lines().collect();
    pulled.sort_unstable();
    assert_eq!(pulled, tags);
}
