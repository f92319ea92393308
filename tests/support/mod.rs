//! Test support: run the real binary in a scrubbed environment, against a real Secret Service
//! (a private D-Bus session with gnome-keyring) or the file store.
//!
//! Every helper process starts from `env_clear()` plus only PATH, HOME, the XDG dirs, the
//! session bus address (when a keychain is wanted) and what the test sets, so nothing from the
//! developer's shell or keyring leaks in. Daemons are killed when their guard drops.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-deepgram");

/// What one helper run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
}

/// A private session bus with gnome-keyring's Secret Service on it.
pub struct SecretService {
    dir: TempDir,
    dbus: Child,
    keyring: Option<Child>,
    pub address: String,
}

impl SecretService {
    /// A session bus with an unlocked `login` collection (password "pw").
    pub fn start() -> SecretService {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["data", "run"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        set_mode(&dir.path().join("run"), 0o700);
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!(
                "--address=unix:path={}",
                dir.path().join("bus").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is installed (apt-get install dbus-daemon)");
        let mut line = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        let mut service = SecretService {
            dir,
            dbus,
            keyring: None,
            address,
        };
        service.start_keyring(true);
        service
    }

    /// Restarts gnome-keyring without unlocking: the `login` collection exists but is locked,
    /// as after a reboot with nobody logged in to a desktop.
    pub fn lock(&mut self) {
        self.stop_keyring();
        self.start_keyring(false);
    }

    fn start_keyring(&mut self, unlock: bool) {
        let mut command = Command::new("gnome-keyring-daemon");
        command
            .args(["--foreground", "--components=secrets"])
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if unlock {
            command.arg("--unlock");
        }
        let mut child = command
            .spawn()
            .expect("gnome-keyring is installed (apt-get install gnome-keyring)");
        let mut stdin = child.stdin.take().unwrap();
        if unlock {
            // A non-empty password: an empty one creates no login collection.
            stdin.write_all(b"pw").unwrap();
        }
        drop(stdin);
        self.keyring = Some(child);
        self.wait_for_name();
    }

    fn stop_keyring(&mut self) {
        if let Some(mut child) = self.keyring.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Let the bus notice the name is gone before a new daemon claims it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.name_has_owner() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) until the daemon owns org.freedesktop.secrets, so that no call
    /// D-Bus-activates a second daemon.
    fn wait_for_name(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.name_has_owner() {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring never took the bus name"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn name_has_owner(&self) -> bool {
        let output = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env_clear()
            .envs(self.env())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).contains("boolean true")
    }

    /// The variables a process needs to reach this keyring.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            ("XDG_DATA_HOME".into(), self.path("data")),
            ("XDG_RUNTIME_DIR".into(), self.path("run")),
            ("HOME".into(), self.dir.path().display().to_string()),
        ]
    }

    fn path(&self, sub: &str) -> String {
        self.dir.path().join(sub).display().to_string()
    }

    /// `secret-tool search --all service docker-credential-deepgram`: what is in the keychain.
    pub fn items(&self) -> String {
        let output = Command::new("secret-tool")
            .args(["search", "--all", "service", "docker-credential-deepgram"])
            .env_clear()
            .envs(self.env())
            .output()
            .expect("secret-tool is installed (apt-get install libsecret-tools)");
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr)
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(mut child) = self.keyring.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// A temp HOME and config dir, and the environment one helper run gets.
pub struct TestEnv {
    pub root: TempDir,
    pub keyring: Option<SecretService>,
    vars: Vec<(String, String)>,
}

impl TestEnv {
    /// The file store, chosen explicitly (no warning).
    pub fn file_store() -> TestEnv {
        let mut env = TestEnv::bare();
        env.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
        env
    }

    /// A real, unlocked Secret Service; store left at its default (`auto`).
    pub fn keyring() -> TestEnv {
        let mut env = TestEnv::bare();
        env.keyring = Some(SecretService::start());
        env
    }

    /// No session bus at all (a headless server, SSH without a desktop).
    pub fn without_keychain() -> TestEnv {
        TestEnv::bare()
    }

    fn bare() -> TestEnv {
        let root = tempfile::tempdir().unwrap();
        for sub in ["home", "config", "runtime"] {
            std::fs::create_dir(root.path().join(sub)).unwrap();
        }
        set_mode(&root.path().join("runtime"), 0o700);
        // What the helper makes when it creates the directory (a looser one is tightened, with
        // a warning).
        set_mode(&root.path().join("config"), 0o700);
        TestEnv {
            root,
            keyring: None,
            vars: Vec::new(),
        }
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value.to_string()));
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    /// The helper with a scrubbed environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args).env_clear();
        command.env("PATH", std::env::var("PATH").unwrap_or_default());
        command.env("HOME", self.home());
        command.env("XDG_RUNTIME_DIR", self.root.path().join("runtime"));
        command.env("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", self.config_dir());
        if let Some(keyring) = &self.keyring {
            for (name, value) in keyring.env() {
                if name != "HOME" && name != "PATH" {
                    command.env(name, value);
                }
            }
        }
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        command
    }

    /// Runs the helper with `stdin` and collects everything.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        finish(self.spawn(args, stdin))
    }

    /// Starts the helper with `stdin` written and closed; [`finish`] collects it.
    pub fn spawn(&self, args: &[&str], stdin: &[u8]) -> Child {
        spawn_with_input(&mut self.command(args), stdin)
    }

    pub fn store(&self, server: &str, user: &str, secret: &str) -> Run {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
        self.run(&["store"], format!("{json}\n").as_bytes())
    }

    pub fn get(&self, server: &str) -> Run {
        self.run(&["get"], server.as_bytes())
    }

    /// Every file under the temp root whose bytes contain `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        files_containing(self.root.path(), needle.as_bytes())
    }
}

/// Spawns `command` with piped stdio, writes `stdin` and closes it.
pub fn spawn_with_input(command: &mut Command, stdin: &[u8]) -> Child {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The helper may exit before reading everything (e.g. oversized input).
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child
}

/// Waits for a spawned helper and collects what it printed.
pub fn finish(child: Child) -> Run {
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn files_containing(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The exact get answer.
pub fn get_json(server: &str, user: &str, secret: &str) -> String {
    format!("{{\"ServerURL\":\"{server}\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\n")
}
