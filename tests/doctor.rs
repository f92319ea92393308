//! `doctor` and the call log against real parts: the built binary, a real keychain, the
//! loopback fake Deepgram API, a real `docker-registry` with htpasswd (the Basic handshake),
//! a quay-like token server (the Bearer handshake), and real skopeo and docker clients.

mod support;

#[path = "support/quay.rs"]
mod quay;
#[path = "support/registry.rs"]
mod registry;

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
    let runtime_file =
        PathBuf::from(machine.client_var("XDG_RUNTIME_DIR")).join("containers/auth.json");
    std::fs::create_dir_all(runtime_file.parent().unwrap()).unwrap();
    // What an old `podman login` leaves: base64 "old:pw".
    std::fs::write(
        &runtime_file,
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"b2xkOnB3\"}}}}}}",
            machine.host
        ),
    )
    .unwrap();
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
    let detail = assert_fails(
        &run,
        &report,
        &format!("registry {}", machine.host),
        "network",
    );
    assert!(detail.contains("cannot tell"), "{detail}");
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
