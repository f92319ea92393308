//! A private Docker engine for the end-to-end tests: Debian's `dockerd` (docker.io), rootful,
//! with everything it keeps under one temp dir — data root, exec root, pidfile, socket, daemon
//! config file, trust key, and the containerd it starts and supervises itself (state under the
//! exec root, content under the data root) — vfs storage, and no networking of its own (no
//! bridge, no iptables, no IP forwarding or masquerading). Clients reach it only through
//! `DOCKER_HOST` = [`Dockerd::host`].
//!
//! It never touches the host's engine, `/var/lib/docker`, `/etc/docker` or the host's network
//! settings. Containers get a cgroup parent of their own, removed on drop. Two empty directories
//! are hard-coded in this docker.io/containerd (`/run/docker/plugins` and containerd's shim
//! socket dir `/run/containerd/s`): they are removed again when the last engine of this test
//! process stops, if they did not exist before the first one started.
//!
//! Dropping the guard stops the daemon by its pid (SIGTERM, a bounded wait, then SIGKILL), kills
//! by pid any process it left behind (its containerd and shims, found by the temp dir in their
//! command line), unmounts whatever is still mounted under the temp dir, removes the cgroups, and
//! deletes the temp dir. If the daemon cannot start here (no root, package missing), `start`
//! panics with the reason and the end of the daemon's log: the test fails, it is never skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long the daemon may take to answer `docker version`, and to stop.
const START_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// Directories the engine creates at fixed host paths, deepest first.
const FIXED_DIRS: [&str; 4] = [
    "/run/containerd/s",
    "/run/containerd",
    "/run/docker/plugins",
    "/run/docker",
];

/// Engines alive in this process, and which [`FIXED_DIRS`] were absent before the first started.
static LIVE: Mutex<(usize, Vec<&'static str>)> = Mutex::new((0, Vec::new()));

pub struct Dockerd {
    dir: TempDir,
    child: Option<Child>,
    cgroup_parent: String,
}

impl Dockerd {
    /// Starts a daemon and waits (bounded) until `docker version` answers through its socket.
    pub fn start() -> Dockerd {
        assert!(
            is_root(),
            "the Docker engine tests start a private dockerd, which needs root: run ./test.sh as root"
        );
        let dir = tempfile::tempdir().unwrap();
        for sub in ["data", "exec", "client"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        // 20.10 keeps a trust key at /etc/docker/key.json unless told otherwise, and only the
        // config file can tell it.
        std::fs::write(
            dir.path().join("daemon.json"),
            serde_json::json!({"deprecated-key-path": dir.path().join("key.json")}).to_string(),
        )
        .unwrap();
        let cgroup_parent = format!(
            "docker-credential-deepgram-test{}",
            dir.path().file_name().unwrap().to_string_lossy()
        );
        {
            let mut live = LIVE.lock().unwrap();
            if live.0 == 0 {
                live.1 = FIXED_DIRS
                    .into_iter()
                    .filter(|path| !Path::new(path).exists())
                    .collect();
            }
            live.0 += 1;
        }
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let path = |sub: &str| dir.path().join(sub).display().to_string();
        let spawned = Command::new("dockerd")
            .arg(format!("--config-file={}", path("daemon.json")))
            .arg(format!("--data-root={}", path("data")))
            .arg(format!("--exec-root={}", path("exec")))
            .arg(format!("--pidfile={}", path("docker.pid")))
            .arg(format!("--host=unix://{}", path("docker.sock")))
            .arg(format!("--cgroup-parent=/{cgroup_parent}"))
            .args([
                "--storage-driver=vfs",
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--userland-proxy=false",
                "--log-level=warn",
                // A container left running by a failed test: stop it fast, not in 10 s.
                "--shutdown-timeout=2",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn();
        let mut engine = Dockerd {
            dir,
            child: None,
            cgroup_parent,
        };
        match spawned {
            Ok(child) => engine.child = Some(child),
            Err(err) => panic!(
                "cannot run dockerd ({err}): ./test.sh installs docker.io (apt-get install docker.io)"
            ),
        }
        engine.wait_until_answering();
        engine
    }

    /// `unix:///…/docker.sock`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// Everything under this daemon's temp dir (data root, exec root, log, ...).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    /// The docker CLI against this daemon only, with an empty client config of its own.
    fn cli(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("client"))
            .env("DOCKER_CONFIG", self.dir.path().join("client"))
            .env("DOCKER_HOST", self.host())
            .stdin(Stdio::null());
        command
    }

    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "dockerd exited at start ({status}); it must run as root with docker.io \
                     installed (./test.sh installs it). Its log:\n{}",
                    tail(&self.log())
                );
            }
            let version = self
                .cli(&["version", "--format", "{{.Server.Version}}"])
                .output()
                .unwrap_or_else(|err| {
                    panic!("cannot run the docker CLI ({err}): ./test.sh installs docker.io")
                });
            if version.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer on {} within {START_LIMIT:?}; docker version said: {}\nits log:\n{}",
                self.host(),
                String::from_utf8_lossy(&version.stderr).trim(),
                tail(&self.log())
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal("TERM", child.id());
        let deadline = Instant::now() + STOP_LIMIT;
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        // Its containerd and shims, should the daemon have died without stopping them.
        let leftovers = processes_mentioning(self.dir.path());
        for &pid in &leftovers {
            signal("KILL", pid);
        }
        let deadline = Instant::now() + STOP_LIMIT;
        while leftovers
            .iter()
            .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        for mount in mounts_under(self.dir.path()).into_iter().rev() {
            let unmounted = Command::new("umount").arg(&mount).status();
            if !unmounted.is_ok_and(|status| status.success()) {
                let _ = Command::new("umount").arg("-l").arg(&mount).status();
            }
        }
        remove_cgroups(&self.cgroup_parent);
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        live.0 -= 1;
        if live.0 == 0 {
            for path in live.1.drain(..) {
                // Only if empty: never anything another program put there since.
                let _ = std::fs::remove_dir(path);
            }
        }
    }
}

/// Whether this process runs with uid 0 (`Uid:` real, effective, saved, fs in /proc).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .is_some_and(|ids| ids.split_whitespace().nth(1) == Some("0"))
    })
}

fn signal(name: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// Pids of processes whose command line names `dir` (a daemon's containerd and shims).
fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && cmdline.windows(needle.len()).any(|w| w == needle)
        {
            pids.push(pid);
        }
    }
    pids
}

/// Mount points under `dir`, in the order they were mounted.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(unescape_mount_point(point)))
        .filter(|point| point.starts_with(dir))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape_mount_point(point: &str) -> String {
    let bytes = point.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(digits) = bytes.get(i + 1..i + 4)
            && let Ok(digits) = std::str::from_utf8(digits)
            && let Ok(value) = u8::from_str_radix(digits, 8)
        {
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes `/sys/fs/cgroup/<controller>/<parent>` and anything below it, deepest first (rmdir
/// only: a cgroup that still holds a process stays).
fn remove_cgroups(parent: &str) {
    let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let mut roots: Vec<PathBuf> = controllers
        .flatten()
        .map(|entry| entry.path().join(parent))
        .collect();
    // cgroup v2 alone: the parent sits at the top.
    roots.push(Path::new("/sys/fs/cgroup").join(parent));
    for root in roots {
        remove_dirs_deepest_first(&root);
    }
}

fn remove_dirs_deepest_first(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            remove_dirs_deepest_first(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// The last lines of a log, enough to see why a daemon failed.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[test]
fn mount_points_are_unescaped_as_mountinfo_writes_them() {
    assert_eq!(unescape_mount_point("/tmp/a\\040b\\134c"), "/tmp/a b\\c");
    assert_eq!(unescape_mount_point("/tmp/plain"), "/tmp/plain");
    assert_eq!(unescape_mount_point("/tmp/cut\\04"), "/tmp/cut\\04");
}
