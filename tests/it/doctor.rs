//! `doctor` and the call log against real parts: the built binary, a real keychain, the
//! loopback fake Deepgram API, a real `docker-registry` with htpasswd (the Basic handshake),
//! a quay-like token server (the Bearer handshake), and real skopeo and docker clients.

use crate::support;

use crate::support::quay;
use crate::support::registry;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quay::Quay;
use registry::Registry;
use serde_json::Value;
use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{BIN, Run, TestEnv, finish, spawn_with_input};

const ID: &str = "5a5a5a5a-0000-4000-8000-0000000000d0";
const USERNAME: &str = "deepgram+5a5a5a5a-0000-4000-8000-0000000000d0";
const SECRET: &str = "QUAYROBOTSECRETDOCTOR0123456789";

/// A user's machine: the helper on PATH, a real keychain, client configs in a temp HOME, and
/// a provisioning registry that accepts the credential the fake API hands out.
struct Machine {
    env: TestEnv,
    fake: FakeDeepgram,
    host: String,
    /// Kept alive for the machine's lifetime.
    _registry: Option<Registry>,
    quay: Option<Quay>,
}

impl Machine {
    fn new(host: String, registry: Option<Registry>, quay: Option<Quay>) -> Machine {
        let fake = FakeDeepgram::start();
        fake.set_credential(ID, SECRET);
        let mut env = TestEnv::machine(&fake, &host);
        let log = env.root.path().join("calls.log").display().to_string();
        env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE", &log);
        Machine {
            env,
            fake,
            host,
            _registry: registry,
            quay,
        }
    }

    /// Configured for every client, with a provisioned credential that the registry accepts.
    fn healthy() -> Machine {
        let registry = Registry::start(USERNAME, SECRET);
        let machine = Machine::new(registry.host(), Some(registry), None);
        machine.env.run(&["configure"], b"").ok();
        let kubelet = machine.kubelet_config().display().to_string();
        machine
            .env
            .run(
                &["configure", "--kubelet", "--kubelet-config", &kubelet],
                b"",
            )
            .ok();
        machine.provision();
        machine
    }

    /// A quay-like registry (Bearer tokens) with the robot the fake API creates.
    fn quay() -> Machine {
        let quay = Quay::start();
        quay.set_robot(USERNAME, SECRET);
        let machine = Machine::new(quay.host(), None, Some(quay));
        machine.provision();
        machine
    }

    /// What an old `podman login` leaves in `$XDG_RUNTIME_DIR/containers/auth.json`: an
    /// `auths` entry (base64 "old:pw") for this machine's registry. Returns the file.
    fn old_podman_login_in_the_runtime_auth_file(&self) -> PathBuf {
        let runtime_file =
            PathBuf::from(self.client_var("XDG_RUNTIME_DIR")).join("containers/auth.json");
        std::fs::create_dir_all(runtime_file.parent().unwrap()).unwrap();
        std::fs::write(
            &runtime_file,
            format!(
                "{{\"auths\":{{\"{}\":{{\"auth\":\"b2xkOnB3\"}}}}}}",
                self.host
            ),
        )
        .unwrap();
        runtime_file
    }

    fn provision(&self) {
        let got = self.env.get(&self.host);
        assert_eq!(got.code, 0, "{got:?}");
        assert_eq!(self.fake.creates(), 1);
    }

    fn kubelet_config(&self) -> PathBuf {
        self.env.root.path().join("credential-provider.yaml")
    }

    /// `doctor --json` plus `args`: the run and the parsed report.
    fn doctor(&self, args: &[&str]) -> (Run, Value) {
        let kubelet = self.kubelet_config().display().to_string();
        let mut all = vec!["doctor", "--json", "--kubelet-config", &kubelet];
        all.extend_from_slice(args);
        let run = self.env.run(&all, b"");
        let report: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|err| panic!("doctor --json printed no JSON ({err}): {run:?}"));
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
        assert!(
            !run.stdout.contains(&self.fake.api_key())
                && !run.stderr.contains(&self.fake.api_key())
        );
        (run, report)
    }

    /// The variable a client process sees (the keychain's runtime dir wins over TestEnv's).
    fn client_var(&self, name: &str) -> String {
        self.env
            .command(&[])
            .get_envs()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap()
    }

    fn client_command(&self, program: &str, args: &[&str]) -> Command {
        self.env.client_command(program, args)
    }
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {report:#}"))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// `name` failed, with a fix, and doctor exited 1 naming it on stderr.
fn assert_fails(run: &Run, report: &Value, name: &str, fix_contains: &str) -> String {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(report["ok"], false);
    let check = check(report, name);
    assert_eq!(check["status"], "fail", "{report:#}");
    let fix = check["fix"]
        .as_str()
        .expect("a failed check says what to do");
    assert!(fix.contains(fix_contains), "{fix}");
    assert!(run.stderr.contains(name), "{run:?}");
    check["detail"].as_str().unwrap().to_string()
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let machine = Machine::healthy();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(report["ok"], true);
    let checks = report["checks"].as_array().unwrap();
    let not_ok: Vec<&Value> = checks.iter().filter(|c| c["status"] != "ok").collect();
    assert_eq!(not_ok.len(), 1, "only rotation is skipped: {report:#}");
    assert_eq!(
        check(&report, "rotation")["detail"],
        "rotation is not configured"
    );
    let host = &machine.host;
    assert!(
        check(&report, &format!("registry {host}"))["detail"]
            .as_str()
            .unwrap()
            .contains("(Basic)")
    );
    assert!(
        check(&report, &format!("credential {host}"))["detail"]
            .as_str()
            .unwrap()
            .contains(ID)
    );
    assert!(
        check(&report, "path")["detail"]
            .as_str()
            .unwrap()
            .contains(&machine.env.helper_dir().display().to_string())
    );
    assert_eq!(
        machine
            .fake
            .count("GET", &format!("/distribution/credentials/{ID}")),
        1,
        "the credential was looked up with get-one"
    );
    assert_eq!(machine.fake.creates(), 1, "doctor never provisions");
    assert!(
        check(&report, "call log")["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("command=get server={host} outcome=created")),
        "{report:#}"
    );

    // The line renderer: one line per check, a summary, the same exit code.
    let kubelet = machine.kubelet_config().display().to_string();
    let lines = machine
        .env
        .run(&["doctor", "--kubelet-config", &kubelet], b"");
    assert_eq!(lines.code, 0, "{lines:?}");
    assert!(
        lines
            .stdout
            .starts_with("ok   binary: docker-credential-deepgram ")
    );
    assert!(lines.stdout.contains(&format!(
        "ok   registry {host}: {host} accepts the credential (Basic)\n"
    )));
    assert!(
        lines
            .stdout
            .contains("skip rotation: rotation is not configured\n")
    );
    assert!(lines.stdout.ends_with(&format!(
        "{} checks: {} ok, 0 warn, 0 fail, 1 skip\n",
        checks.len(),
        checks.len() - 1
    )));
    assert_eq!(lines.stderr, "");
}

#[test]
fn a_credential_the_registry_rejects_fails_the_registry_check() {
    let machine = Machine::healthy();
    machine
        .env
        .store(&machine.host, USERNAME, "not-the-secret")
        .ok();
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(
        &run,
        &report,
        &format!("registry {}", machine.host),
        "erase",
    );
    assert!(detail.contains("answered 401"), "{detail}");
    assert_eq!(failed(&report), [format!("registry {}", machine.host)]);
}

#[test]
fn a_credential_deleted_in_the_project_fails_the_deepgram_check() {
    let machine = Machine::healthy();
    machine.fake.delete_credential(ID);
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(
        &run,
        &report,
        &format!("deepgram {}", machine.host),
        "erase",
    );
    assert!(
        detail.contains(&format!("credential {ID} no longer exists")),
        "{detail}"
    );
    assert_eq!(failed(&report), [format!("deepgram {}", machine.host)]);
}

#[test]
fn a_not_found_that_is_not_the_apis_own_is_cannot_tell_not_gone() {
    let machine = Machine::healthy();
    // A gateway's plain-text 404 for the credential's route: `get` never believes it, and
    // neither does doctor.
    machine.fake.set_sticky_fault(
        "GET",
        &format!("/distribution/credentials/{ID}"),
        Fault::Status {
            status: 404,
            headers: vec![],
            body: "404 page not found".into(),
            acted: false,
        },
    );
    let (_, report) = machine.doctor(&[]);
    let name = format!("deepgram {}", machine.host);
    assert_eq!(status_of(&report, &name), "warn", "{report:#}");
    let detail = check(&report, &name)["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("cannot tell"), "{detail}");
    assert!(!detail.contains("no longer exists"), "{detail}");
}

#[test]
fn a_rejected_api_key_fails_the_api_key_check() {
    let mut machine = Machine::healthy();
    machine.env.set(
        "DEEPGRAM_API_KEY",
        "0123456789abcdef0123456789abcdef01234567",
    );
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "api key", "DEEPGRAM_API_KEY");
    assert!(detail.contains("401"), "{detail}");
    assert!(
        !run.stdout
            .contains("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(failed(&report), ["api key"]);
}

#[test]
fn an_auths_entry_in_the_runtime_auth_file_shadows_the_helper() {
    let machine = Machine::healthy();
    let runtime_file = machine.old_podman_login_in_the_runtime_auth_file();
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "containers", "podman logout");
    assert!(
        detail.contains(&runtime_file.display().to_string()),
        "{detail}"
    );
    assert!(!run.stdout.contains("b2xkOnB3"));
    assert_eq!(failed(&report), ["containers"]);
}

#[test]
fn a_docker_config_without_cred_helpers_fails_the_docker_check() {
    let machine = Machine::healthy();
    let config = machine.env.home().join(".docker/config.json");
    std::fs::write(&config, "{\"auths\":{}}\n").unwrap();
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "docker", "configure");
    assert!(detail.contains("credHelpers does not route"), "{detail}");
    // The Docker config is also the containers tools' last file, but theirs routes it.
    assert_eq!(failed(&report), ["docker"]);
}

#[test]
fn a_locked_keychain_fails_the_store_check() {
    let mut machine = Machine::healthy();
    machine.env.keyring.as_mut().unwrap().lock();
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "store", "unlock");
    assert!(detail.contains("locked"), "{detail}");
}

#[test]
fn a_binary_missing_from_path_fails_the_path_check() {
    let mut machine = Machine::healthy();
    machine.env.set("PATH", &std::env::var("PATH").unwrap());
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "path", "install");
    assert!(detail.contains("is not on PATH"), "{detail}");
    assert_eq!(failed(&report), ["path"]);
}

#[test]
fn the_bearer_handshake_tells_a_wrong_secret_from_a_deleted_robot() {
    let machine = Machine::quay();
    let name = format!("registry {}", machine.host);
    let quay = machine.quay.as_ref().unwrap();
    let registry = machine.host.clone();
    let (_, report) = machine.doctor(&["--registry", &registry]);
    assert_eq!(check(&report, &name)["status"], "ok", "{report:#}");
    assert_eq!(
        check(&report, &name)["detail"],
        format!("{registry} accepts the credential (Bearer)")
    );
    let token_request = quay
        .requests()
        .into_iter()
        .find(|r| r.path == "/v2/auth")
        .expect("the token endpoint was asked");
    assert_eq!(
        token_request.query,
        "service=quay.io&scope=repository%3Adeepgram%2Fself-hosted-api%3Apull"
    );
    assert!(token_request.authorization.unwrap().starts_with("Basic "));

    quay.set_robot(USERNAME, "regenerated-token");
    let (run, report) = machine.doctor(&["--registry", &registry]);
    let detail = assert_fails(&run, &report, &name, "erase");
    assert!(detail.contains("rejects the stored secret"), "{detail}");
    assert!(
        detail.contains(&format!(
            "Could not find robot with username: {USERNAME} and supplied password."
        )),
        "{detail}"
    );

    quay.delete_robot(USERNAME);
    let (run, report) = machine.doctor(&["--registry", &registry]);
    let detail = assert_fails(&run, &report, &name, "erase");
    assert!(detail.contains("no longer knows the robot"), "{detail}");
    assert!(
        detail.contains("Could not find robot with specified username"),
        "{detail}"
    );
}

#[test]
fn offline_makes_no_request() {
    let machine = Machine::quay();
    let quay = machine.quay.as_ref().unwrap();
    let (api_before, registry_before) = (machine.fake.requests().len(), quay.requests().len());
    let (_, report) = machine.doctor(&["--offline"]);
    assert_eq!(machine.fake.requests().len(), api_before, "no API request");
    assert_eq!(
        quay.requests().len(),
        registry_before,
        "no registry request"
    );
    for name in ["api key", "project"] {
        assert_eq!(check(&report, name)["status"], "skip", "{report:#}");
    }
    for name in [
        format!("deepgram {}", machine.host),
        format!("registry {}", machine.host),
    ] {
        assert_eq!(check(&report, &name)["status"], "skip", "{report:#}");
        assert_eq!(check(&report, &name)["detail"], "not checked (--offline)");
    }
}

#[test]
fn network_checks_obey_the_timeouts() {
    let mut machine = Machine::quay();
    machine
        .env
        .set("DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT", "1s");
    machine
        .fake
        .push_fault("GET", "/v1/projects", Fault::Slow(Duration::from_secs(30)));
    machine
        .quay
        .as_ref()
        .unwrap()
        .stall(Duration::from_secs(30));
    let started = Instant::now();
    let (run, report) = machine.doctor(&[]);
    let elapsed = started.elapsed();
    let detail = assert_fails(&run, &report, "api key", "network");
    assert!(detail.contains("no complete answer"), "{detail}");
    // No answer proves nothing about the credential: a warning that says so, not a verdict.
    let registry = check(&report, &format!("registry {}", machine.host));
    assert_eq!(registry["status"], "warn", "{report:#}");
    let detail = registry["detail"].as_str().unwrap();
    assert!(
        detail.contains("cannot tell") && detail.contains("because"),
        "{detail}"
    );
    assert!(registry["fix"].as_str().unwrap().contains("network"));
    assert!(
        elapsed < Duration::from_secs(15),
        "two stalled servers with a 1s request timeout took {elapsed:?}"
    );
}

// The call log.

fn log_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// time pid caller command server outcome duration, all present and one line.
fn assert_whole(line: &str) {
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields.len(), 7, "{line}");
    assert!(fields[0].len() == 20 && fields[0].ends_with('Z'), "{line}");
    for (field, prefix) in fields[1..].iter().zip([
        "pid=",
        "caller=",
        "command=",
        "server=",
        "outcome=",
        "duration_ms=",
    ]) {
        assert!(field.starts_with(prefix), "{line}");
    }
    assert!(
        fields[6]["duration_ms=".len()..].parse::<u64>().is_ok(),
        "{line}"
    );
}

#[test]
fn the_call_log_names_skopeo_and_docker() {
    let mut machine = Machine::new(String::new(), None, None);
    let registry = Registry::start(USERNAME, SECRET);
    registry.push_test_image("deepgram/self-hosted-api", USERNAME, SECRET);
    let host = registry.host();
    machine
        .env
        .set("DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES", &host);
    let log = machine.env.root.path().join("calls.log");
    machine.env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE",
        &log.display().to_string(),
    );
    machine.env.run(&["configure"], b"").ok();

    let inspect = machine
        .client_command(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                &format!("docker://{host}/deepgram/self-hosted-api:latest"),
            ],
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{inspect:?}");
    let mut login = machine.client_command(
        "docker",
        &["login", &host, "-u", USERNAME, "--password-stdin"],
    );
    let login = finish(spawn_with_input(&mut login, SECRET.as_bytes()));
    assert_eq!(login.code, 0, "{login:?}");

    let lines = log_lines(&log);
    lines.iter().for_each(|l| assert_whole(l));
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            " caller=skopeo command=get server={host} outcome=created "
        ))),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            " caller=docker command=store server={host} outcome=ok "
        ))),
        "{lines:#?}"
    );
    assert_eq!(support::mode(&log), 0o600);
    assert!(!std::fs::read_to_string(&log).unwrap().contains(SECRET));

    // doctor shows the last lines.
    let run = machine.env.run(&["doctor", "--offline"], b"");
    assert!(
        run.stdout
            .contains(&format!("ok   call log: {}, last calls:\n", log.display())),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("caller=docker command=store"),
        "{run:?}"
    );
}

#[test]
fn parallel_gets_leave_whole_lines() {
    let mut env = TestEnv::file_store();
    env.store("quay.io", USERNAME, SECRET).ok();
    let log = env.root.path().join("calls.log");
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE",
        &log.display().to_string(),
    );
    let children: Vec<_> = (0..32).map(|_| env.spawn(&["get"], b"quay.io")).collect();
    for child in children {
        finish(child).ok();
    }
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 32, "{lines:#?}");
    for line in &lines {
        assert_whole(line);
        assert!(
            line.contains(" command=get server=quay.io outcome=hit "),
            "{line}"
        );
    }
    assert!(!std::fs::read_to_string(&log).unwrap().contains(SECRET));
}

#[test]
fn another_copy_first_on_path_is_a_warning_that_names_it() {
    let mut env = TestEnv::file_store();
    let shadow = tempfile::tempdir().unwrap();
    let ours = tempfile::tempdir().unwrap();
    let other = shadow.path().join("docker-credential-deepgram");
    std::fs::write(&other, "#!/bin/sh\necho old copy\n").unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(BIN, ours.path().join("docker-credential-deepgram")).unwrap();
    env.set(
        "PATH",
        &format!(
            "{}:{}:{}",
            shadow.path().display(),
            ours.path().display(),
            std::env::var("PATH").unwrap()
        ),
    );
    let run = env.run(&["doctor", "--offline", "--json"], b"");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let path = check(&report, "path");
    assert_eq!(path["status"], "warn", "{report:#}");
    assert_eq!(
        path["detail"],
        format!(
            "PATH runs {} first, another copy that shadows this binary",
            other.display()
        )
    );
    assert!(path["fix"].as_str().unwrap().contains("remove or replace"));
}

#[test]
fn housekeeping_warns_about_credentials_to_delete_and_past_rotate_after() {
    let mut machine = Machine::healthy();
    // A rotate whose delete failed leaves the old id to delete.
    let index_path = machine.env.config_dir().join("index.json");
    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    index["to_delete"] = serde_json::json!([{
        "key": machine.host,
        "id": "01d01d01-0000-4000-8000-000000000001",
        "project_id": machine.fake.project_id(),
        "api_url": machine.fake.url(),
        "reason": "the Deepgram API failed (500)",
    }]);
    std::fs::write(&index_path, index.to_string()).unwrap();
    machine
        .env
        .set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "1s");
    std::thread::sleep(Duration::from_millis(2100));

    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "warnings do not fail doctor: {run:?}");
    let to_delete = check(&report, "to delete");
    assert_eq!(to_delete["status"], "warn", "{report:#}");
    assert!(
        to_delete["detail"]
            .as_str()
            .unwrap()
            .contains("01d01d01-0000-4000-8000-000000000001"),
        "{report:#}"
    );
    assert!(to_delete["fix"].as_str().unwrap().contains("prune"));
    let rotation = check(&report, "rotation");
    assert_eq!(rotation["status"], "warn", "{report:#}");
    assert!(
        rotation["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("older than rotate_after (1s): {}", machine.host)),
        "{report:#}"
    );
    assert!(rotation["fix"].as_str().unwrap().contains("rotate"));
}

// Issue 16: doctor never gives false comfort, and its advice works when followed.

impl Machine {
    /// `doctor --json` as `command` (already given its arguments) runs it.
    fn doctor_as(&self, command: &mut Command) -> (Run, Value) {
        let run = finish(spawn_with_input(command, b""));
        let report: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|err| panic!("doctor --json printed no JSON ({err}): {run:?}"));
        (run, report)
    }

    /// `doctor --json` without the session bus: cron, `su -`, a CI job.
    fn doctor_without_bus(&self) -> (Run, Value) {
        let kubelet = self.kubelet_config().display().to_string();
        let mut command = self
            .env
            .command(&["doctor", "--json", "--kubelet-config", &kubelet]);
        command.env_remove("DBUS_SESSION_BUS_ADDRESS");
        self.doctor_as(&mut command)
    }
}

/// A read-only bind mount of a directory onto itself, undone on drop (root can write through
/// any mode, but not through a read-only mount).
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(dir: &std::path::Path) -> ReadOnly {
        let dir = dir.to_path_buf();
        let path = dir.display().to_string();
        for args in [
            &["--bind", &path, &path][..],
            &["-o", "remount,bind,ro", &path][..],
        ] {
            let status = Command::new("mount").args(args).status().unwrap();
            assert!(status.success(), "mount {args:?} (the tests run as root)");
        }
        ReadOnly(dir)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn status_of<'a>(report: &'a Value, name: &str) -> &'a str {
    check(report, name)["status"].as_str().unwrap()
}

#[test]
fn a_read_only_config_dir_fails_and_the_fix_makes_doctor_green() {
    let machine = Machine::healthy();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "config dir"), "ok");

    let mounted = ReadOnly::mount(&machine.env.config_dir());
    // What the issue saw: `login` (like `store` and a first pull) fails there.
    let login = machine
        .env
        .run(&["login"], machine.fake.api_key().as_bytes());
    assert_ne!(login.code, 0, "{login:?}");
    // ...and now says what to do.
    assert!(
        login.stderr.contains("Read-only file system")
            && login.stderr.contains("remount it read-write"),
        "{login:?}"
    );
    let (run, report) = machine.doctor(&[]);
    let detail = assert_fails(&run, &report, "config dir", "read-only file system");
    assert!(detail.contains("Read-only file system"), "{detail}");
    assert!(
        detail.contains(&machine.env.config_dir().display().to_string()),
        "{detail}"
    );
    assert_eq!(failed(&report), ["config dir"]);

    // The fix, followed: remount it read-write.
    drop(mounted);
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "config dir"), "ok");
}

#[test]
fn an_immutable_lock_file_fails_the_config_dir_check_until_cleared() {
    let machine = Machine::healthy();
    let lock = machine.env.config_dir().join("provision.lock");
    assert!(lock.exists(), "the first pull made it");
    let chattr = |flag: &str| {
        let status = Command::new("chattr")
            .args([flag, &lock.display().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "chattr {flag}");
    };
    chattr("+i");
    let (run, report) = machine.doctor(&["--offline"]);
    chattr("-i");
    let detail = assert_fails(&run, &report, "config dir", "chattr -i");
    assert!(
        detail.contains(&format!("cannot write {}", lock.display())),
        "{detail}"
    );
    // Cleared (as the fix says): green again.
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "config dir"), "ok");
}

#[test]
fn a_key_in_an_unreachable_keychain_is_not_no_key_and_each_fix_works() {
    let mut machine = Machine::healthy();
    // `auto`, the default: the case is a keychain this process cannot use.
    machine.env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "auto");
    // The key saved by login, in the keychain, instead of the environment.
    machine.env.unset("DEEPGRAM_API_KEY");
    machine
        .env
        .run(&["login"], machine.fake.api_key().as_bytes())
        .ok();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");

    let (run, report) = machine.doctor_without_bus();
    let detail = assert_fails(&run, &report, "api key", "DBUS_SESSION_BUS_ADDRESS");
    assert!(
        detail.contains(
            "the API key saved by login is in the keychain, which this process cannot reach"
        ),
        "{detail}"
    );
    assert!(!detail.contains("no Deepgram API key"), "{detail}");
    let detail = assert_fails(&run, &report, "store", "DBUS_SESSION_BUS_ADDRESS");
    assert!(
        detail.contains(&format!(
            "the credentials for {} are in the keychain",
            machine.host
        )),
        "{detail}"
    );
    assert!(
        !run.stdout.contains(&machine.fake.api_key()) && !run.stdout.contains(SECRET),
        "{run:?}"
    );
    // The fix, followed: the session's bus (what the fix names).
    let kubelet = machine.kubelet_config().display().to_string();
    let mut in_session = machine
        .env
        .command(&["doctor", "--json", "--kubelet-config", &kubelet]);
    let address = machine.env.keyring.as_ref().unwrap().address.clone();
    in_session.env("DBUS_SESSION_BUS_ADDRESS", &address);
    let (run, report) = machine.doctor_as(&mut in_session);
    assert_eq!(run.code, 0, "{report:#}");

    // No key at all (the file store, nothing saved) is "no key", and login fixes it.
    let fake = FakeDeepgram::start();
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    let run = env.run(&["doctor", "--json", "--offline"], b"");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let detail = assert_fails(&run, &report, "api key", "docker-credential-deepgram login");
    assert!(detail.starts_with("no Deepgram API key"), "{detail}");
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    let run = env.run(&["doctor", "--json"], b"");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status_of(&report, "api key"), "ok", "{report:#}");
}

#[test]
fn a_differing_plaintext_login_gets_the_one_edit_that_resolves_it() {
    let machine = Machine::healthy();
    let config = machine.env.home().join(".docker/config.json");
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    // `docker login` of another user, left in the file: base64 "alice:pw1".
    document["auths"] = serde_json::json!({ machine.host.clone(): {"auth": "YWxpY2U6cHcx"} });
    std::fs::write(&config, serde_json::to_string_pretty(&document).unwrap()).unwrap();

    // configure keeps both (the stored credential answers) and says to delete it by hand...
    let configured = machine.env.run(&["configure"], b"");
    configured.ok();
    assert!(
        configured
            .stdout
            .contains("delete the file's entry by hand"),
        "{configured:?}"
    );
    // ...and doctor names that one edit instead of sending the user back to configure.
    let (_, report) = machine.doctor(&[]);
    let docker = check(&report, "docker");
    assert_eq!(docker["status"], "warn", "{report:#}");
    let fix = docker["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(&format!(
            "delete `auths[\"{}\"]` (the login of user alice) from {} by hand",
            machine.host,
            config.display()
        )),
        "{fix}"
    );
    assert!(!fix.contains("configure"), "{fix}");
    assert!(!report.to_string().contains("YWxpY2U6cHcx"));

    // The edit, followed: doctor is green.
    document["auths"]
        .as_object_mut()
        .unwrap()
        .remove(&machine.host);
    std::fs::write(&config, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "docker"), "ok", "{report:#}");
    // The stored credential still answers.
    let got = machine.env.get(&machine.host);
    assert!(got.ok().stdout.contains(SECRET));
}

/// The pid that owns org.freedesktop.secrets on `env`'s bus.
fn secrets_owner(env: &TestEnv) -> Option<u32> {
    let output = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            "string:org.freedesktop.secrets",
        ])
        .env_clear()
        .envs(env.keyring.as_ref().unwrap().env())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// Runs the shell command the advice names, in the keychain's session, typing `password`.
fn follow_unlock_advice(env: &TestEnv, advice: &str, password: &str) {
    let command = advice
        .split("headless (SSH), ")
        .nth(1)
        .and_then(|rest| rest.split('`').nth(1))
        .unwrap_or_else(|| panic!("no headless command in {advice:?}"));
    assert!(
        command.contains("gnome-keyring-daemon --replace --unlock"),
        "{command}"
    );
    let mut shell = Command::new("bash");
    shell
        .args(["-c", command])
        .env_clear()
        .envs(env.keyring.as_ref().unwrap().env());
    let run = finish(spawn_with_input(
        &mut shell,
        format!("{password}\n").as_bytes(),
    ));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains(password) && !run.stderr.contains(password));
}

/// Kills the daemon the advice started (a child of nobody here) when the test ends.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[test]
fn the_locked_keychain_advice_unlocks_it_and_status_shows_what_it_can_meanwhile() {
    let mut machine = Machine::healthy();
    // `auto`, the default: the case is a keychain this process cannot use.
    machine.env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "auto");
    // The key saved by login, in the keychain that gets locked.
    machine.env.unset("DEEPGRAM_API_KEY");
    machine
        .env
        .run(&["login"], machine.fake.api_key().as_bytes())
        .ok();
    machine.env.keyring.as_mut().unwrap().lock();

    // status: everything that does not need the keychain, then the keychain and its fix.
    let status = machine.env.run(&["status"], b"");
    assert_eq!(status.code, 1, "{status:?}");
    for line in [
        format!("config directory: {}\n", machine.env.config_dir().display()),
        format!("provisioning registries: {}\n", machine.host),
        "API key: saved by login in the keychain (which cannot be used now: see below)\n"
            .to_string(),
        format!(
            "credential {}: username {USERNAME} in the keyring store",
            machine.host
        ),
        format!("  Deepgram credential {ID} in project"),
    ] {
        assert!(status.stdout.contains(&line), "{line:?}: {status:?}");
    }
    assert!(
        status.stderr.contains("the keychain is locked"),
        "{status:?}"
    );
    assert!(
        status
            .stderr
            .contains("gnome-keyring-daemon --replace --unlock"),
        "{status:?}"
    );
    // The remote view needs only a key: with one in the environment, it is shown too.
    let mut remote = machine.env.command(&["status", "--remote"]);
    remote.env("DEEPGRAM_API_KEY", machine.fake.api_key());
    let remote = finish(spawn_with_input(&mut remote, b""));
    assert_eq!(remote.code, 1, "{remote:?}");
    assert!(
        remote.stdout.contains(&format!(
            "remote credentials in project {} (those this API key can see): 1\n  {ID} current for {}",
            machine.fake.project_id(),
            machine.host
        )),
        "{remote:?}"
    );
    assert!(
        remote.stderr.contains("the keychain is locked"),
        "{remote:?}"
    );

    // doctor: the store fails with the advice; get says the same.
    let (run, report) = machine.doctor(&["--offline"]);
    let detail = assert_fails(&run, &report, "store", "--replace --unlock");
    assert!(detail.contains("locked"), "{detail}");
    let fix = check(&report, "store")["fix"].as_str().unwrap().to_string();
    let get = machine.env.get(&machine.host);
    assert_eq!(get.code, 1, "{get:?}");
    assert!(get.stdout.contains("--replace --unlock"), "{get:?}");

    // The advice, followed, as a person in that session would: the keychain is usable.
    follow_unlock_advice(&machine.env, &fix, "pw");
    machine.env.keyring.as_ref().unwrap().handed_over();
    let _daemon = KillOnDrop(secrets_owner(&machine.env));
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "store"), "ok");
    let got = machine.env.get(&machine.host);
    assert!(got.ok().stdout.contains(SECRET), "{got:?}");
    machine.env.run(&["status"], b"").ok();
}

/// Runs the first command the fix names in backticks, as written, in the machine's
/// environment (the helper on PATH), and checks it succeeded.
fn follow(machine: &Machine, fix: &str) {
    let command = fix
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in the fix {fix:?}"));
    let mut shell = machine.client_command("sh", &["-c", command]);
    let run = finish(spawn_with_input(&mut shell, b""));
    assert_eq!(run.code, 0, "{command}: {run:?}");
}

fn fix_of(report: &Value, name: &str) -> String {
    check(report, name)["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no fix: {report:#}"))
        .to_string()
}

#[test]
fn the_erase_fix_for_a_deleted_or_rejected_credential_makes_doctor_green_after_a_pull() {
    let machine = Machine::healthy();
    let deepgram = format!("deepgram {}", machine.host);
    let registry = format!("registry {}", machine.host);

    // Deleted in the Console.
    machine.fake.delete_credential(ID);
    let (run, report) = machine.doctor(&[]);
    assert_fails(&run, &report, &deepgram, "erase");
    follow(&machine, &fix_of(&report, &deepgram));
    machine.env.get(&machine.host).ok();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");

    // A secret the registry rejects.
    machine
        .env
        .store(&machine.host, USERNAME, "not-the-secret")
        .ok();
    let (run, report) = machine.doctor(&[]);
    assert_fails(&run, &report, &registry, "erase");
    follow(&machine, &fix_of(&report, &registry));
    machine.env.get(&machine.host).ok();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
}

#[test]
fn the_configure_fix_for_a_missing_route_and_the_chmod_fix_for_file_modes_work() {
    let machine = Machine::healthy();
    let config = machine.env.home().join(".docker/config.json");
    std::fs::write(&config, "{\"auths\":{}}\n").unwrap();
    let index = machine.env.config_dir().join("index.json");
    std::fs::set_permissions(&index, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_fails(&run, &report, "docker", "configure");
    assert_fails(&run, &report, "file modes", "chmod 600");
    follow(&machine, &fix_of(&report, "docker"));
    // "chmod 600 the named files": the file it names.
    let modes = check(&report, "file modes")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(modes.contains(&index.display().to_string()), "{modes}");
    let mut chmod = machine.client_command("chmod", &["600", &index.display().to_string()]);
    finish(spawn_with_input(&mut chmod, b"")).ok();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");
}

#[test]
fn the_podman_logout_fix_for_an_old_login_in_the_runtime_auth_file_works() {
    let machine = Machine::healthy();
    machine.old_podman_login_in_the_runtime_auth_file();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_fails(&run, &report, "containers", "podman logout");
    follow(&machine, &fix_of(&report, "containers"));
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");
}

#[test]
fn a_damaged_index_moved_aside_as_the_fix_says_leaves_doctor_green() {
    let machine = Machine::healthy();
    let index = machine.env.config_dir().join("index.json");
    std::fs::write(&index, "{\"entries\": [").unwrap();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_fails(&run, &report, "index", "move the file aside");
    std::fs::rename(&index, index.with_extension("json.damaged")).unwrap();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");
    // The stored credential still answers.
    assert!(machine.env.get(&machine.host).ok().stdout.contains(SECRET));
}

#[test]
fn checks_that_can_only_guess_warn_and_say_why_instead_of_ok() {
    let mut machine = Machine::healthy();
    let deepgram = format!("deepgram {}", machine.host);
    // The API answers 500 to the lookup: the credential may or may not exist.
    machine.fake.set_sticky_fault(
        "GET",
        &format!("/distribution/credentials/{ID}"),
        FakeDeepgram::status_fault(500),
    );
    // A call log in a directory that does not exist: nothing can ever be logged.
    let missing = machine.env.root.path().join("logs");
    let log = missing.join("calls.log");
    machine.env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_LOG_FILE",
        &log.display().to_string(),
    );
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "warnings only: {report:#}");
    for (name, because) in [
        (deepgram.as_str(), "still exists, because"),
        ("call log", "because its directory"),
    ] {
        let found = check(&report, name);
        assert_eq!(found["status"], "warn", "{report:#}");
        let detail = found["detail"].as_str().unwrap();
        assert!(
            detail.contains("cannot tell") && detail.contains(because),
            "{detail}"
        );
    }
    // Each fix, followed: the API answers again (later), the directory exists.
    machine.fake.clear_sticky_faults();
    std::fs::create_dir(&missing).unwrap();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, &deepgram), "ok", "{report:#}");
    assert_eq!(status_of(&report, "call log"), "ok", "{report:#}");
}

#[test]
fn store_keyring_without_a_keychain_fails_with_a_fix_that_works() {
    let mut env = TestEnv::without_keychain();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    let run = env.run(&["doctor", "--json", "--offline"], b"");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let detail = assert_fails(
        &run,
        &report,
        "store",
        "DOCKER_CREDENTIAL_DEEPGRAM_STORE=file",
    );
    assert!(detail.starts_with("no keychain is reachable"), "{detail}");
    // The fix, followed.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    let run = env.run(&["doctor", "--json", "--offline"], b"");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status_of(&report, "store"), "ok", "{report:#}");
    assert_eq!(status_of(&report, "config dir"), "ok", "{report:#}");
}

#[test]
fn the_configure_fixes_for_a_foreign_helper_and_a_duplicate_plaintext_login_work() {
    let machine = Machine::healthy();
    let config = machine.env.home().join(".docker/config.json");
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    document["credHelpers"][&machine.host] = serde_json::json!("ecr-login");
    std::fs::write(&config, document.to_string()).unwrap();
    let (run, report) = machine.doctor(&["--offline"]);
    assert_fails(&run, &report, "docker", "configure --force");
    follow(&machine, &fix_of(&report, "docker"));
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");

    // A plaintext copy of the very credential the store holds: configure drops it.
    use base64::Engine;
    let same = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{SECRET}"));
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    document["auths"] = serde_json::json!({ machine.host.clone(): {"auth": same} });
    std::fs::write(&config, document.to_string()).unwrap();
    let (_, report) = machine.doctor(&["--offline"]);
    assert_eq!(status_of(&report, "docker"), "warn", "{report:#}");
    let fix = fix_of(&report, "docker");
    assert!(
        fix.contains("which removes it (the store holds the same credential)"),
        "{fix}"
    );
    follow(&machine, &fix);
    let (run, report) = machine.doctor(&["--offline"]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(status_of(&report, "docker"), "ok", "{report:#}");
}

#[test]
fn the_prune_and_rotate_fixes_work() {
    let mut machine = Machine::healthy();
    let dir = machine.env.config_dir();
    // A rotate whose delete failed left an old credential (it still exists in the project).
    let old = machine
        .fake
        .insert_credential("docker-credential-deepgram on old", "2026-01-01T00:00:00Z");
    let index_path = dir.join("index.json");
    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    index["to_delete"] = serde_json::json!([{
        "key": machine.host,
        "id": old,
        "project_id": machine.fake.project_id(),
        "api_url": machine.fake.url(),
        "reason": "the Deepgram API failed (500)",
    }]);
    std::fs::write(&index_path, index.to_string()).unwrap();
    machine
        .env
        .set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "1s");
    std::thread::sleep(Duration::from_millis(1100));
    // The fixes run with --yes: they ask on a terminal, and refuse without one.
    let (_, report) = machine.doctor(&["--offline"]);
    for (name, says) in [
        ("to delete", "docker-credential-deepgram prune"),
        ("rotation", "docker-credential-deepgram rotate"),
    ] {
        assert_eq!(status_of(&report, name), "warn", "{report:#}");
        assert!(fix_of(&report, name).contains(says), "{report:#}");
    }
    machine.env.run(&["prune", "--yes"], b"").ok();
    assert!(!machine.fake.credential_ids().contains(&old));
    let registry = machine.host.clone();
    machine
        .env
        .run(&["rotate", "--registry", &registry, "--yes"], b"")
        .ok();
    // A fresh credential is younger than rotate_after for a moment: check with a longer one.
    machine
        .env
        .set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_AFTER", "1h");
    let (_, report) = machine.doctor(&["--offline"]);
    for name in ["to delete", "rotation"] {
        assert_eq!(status_of(&report, name), "ok", "{name}: {report:#}");
    }
    // (The fake hands out the same id again, so the rotated-away entry names the current
    // credential: doctor, like `status`, does not list it as one to delete.)
}

#[test]
fn the_api_key_and_project_fixes_work() {
    let mut machine = Machine::healthy();
    let bad = "0123456789abcdef0123456789abcdef01234567";
    machine.env.set("DEEPGRAM_API_KEY", bad);
    let (run, report) = machine.doctor(&[]);
    assert_fails(
        &run,
        &report,
        "api key",
        "set a valid key in DEEPGRAM_API_KEY",
    );
    machine.env.set("DEEPGRAM_API_KEY", &machine.fake.api_key());
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");

    // Several projects and none configured.
    let project = machine.fake.project_id();
    machine.fake.set_projects(&[
        (project.as_str(), "Test Project"),
        ("7e57e57e-0000-4000-8000-000000000002", "Other"),
    ]);
    machine.env.unset("DEEPGRAM_PROJECT_ID");
    let (run, report) = machine.doctor(&[]);
    let fix = {
        assert_fails(&run, &report, "project", "login --project ID");
        fix_of(&report, "project")
    };
    assert!(fix.contains("or set DEEPGRAM_PROJECT_ID"), "{fix}");
    // `login --project ID` with the key (on stdin, as login reads it).
    machine
        .env
        .run(
            &["login", "--project", &project],
            machine.fake.api_key().as_bytes(),
        )
        .ok();
    let (run, report) = machine.doctor(&[]);
    assert_eq!(run.code, 0, "{report:#}");
    assert!(
        check(&report, "project")["detail"]
            .as_str()
            .unwrap()
            .starts_with(&project)
    );
}
