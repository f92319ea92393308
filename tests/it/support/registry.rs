//! A real registry for the end-to-end tests: Debian's `docker-registry` on a loopback port it
//! picks itself, with htpasswd (bcrypt) auth, and a one-layer OCI image written by hand for skopeo to
//! push into it. Killed on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Registry {
    dir: TempDir,
    child: Child,
    pub port: u16,
}

impl Registry {
    /// Starts a registry that accepts exactly `user`/`password`.
    pub fn start(user: &str, password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd is installed (apt-get install apache2-utils)");
        assert!(htpasswd.status.success());
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).unwrap();
        // Port 0: the registry binds a free port itself and logs it, so no other process can
        // take the port between our choice and its bind. The realm names this instance, so
        // the readiness check cannot mistake another server's 401 for ours.
        let config = format!(
            "version: 0.1\nlog: {{level: info, formatter: text}}\nstorage: {{filesystem: {{rootdirectory: {root}}}}}\nhttp: {{addr: \"127.0.0.1:0\"}}\nauth: {{htpasswd: {{realm: {realm}, path: {htpasswd}}}}}\n",
            root = dir.path().join("data").display(),
            realm = realm(dir.path()),
            htpasswd = dir.path().join("htpasswd").display(),
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed (apt-get install docker-registry)");
        let mut registry = Registry {
            dir,
            child,
            port: 0,
        };
        registry.port = registry.wait_for_port();
        registry.wait_until_ready();
        registry
    }

    /// `127.0.0.1:PORT`: docker and skopeo treat loopback registries as plain-HTTP capable.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the registry logged (`listening on 127.0.0.1:PORT`), waited for (bounded).
    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let log = self.log();
            if let Some(port) = log
                .split("listening on 127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|digits| digits.parse().ok())
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}) before listening:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry never said where it listens:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) until `GET /v2/` answers with this registry's own challenge: a 401
    /// naming its unique realm.
    fn wait_until_ready(&self) {
        let challenge = format!("Basic realm=\"{}\"", realm(self.dir.path()));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port);
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut answer = String::new();
                    let _ = stream.read_to_string(&mut answer);
                    if (answer.starts_with("HTTP/1.0 401") || answer.starts_with("HTTP/1.1 401"))
                        && answer.contains(&challenge)
                    {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer with {challenge} on {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the registry wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Pushes a tiny one-layer image as `<repo>:latest`, with explicit credentials.
    pub fn push_test_image(&self, repo: &str, user: &str, password: &str) {
        let layout = self.dir.path().join("oci");
        write_oci_layout(&layout);
        let output = Command::new("skopeo")
            .args(["copy", "--dest-tls-verify=false", "--dest-creds"])
            .arg(format!("{user}:{password}"))
            .arg(format!("oci:{}:latest", layout.display()))
            .arg(format!("docker://{}/{repo}:latest", self.host()))
            .env("HOME", self.dir.path())
            .output()
            .expect("skopeo is installed (apt-get install skopeo)");
        assert!(output.status.success(), "push failed: {output:?}");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A realm unique to one registry (its temp dir's name).
fn realm(dir: &Path) -> String {
    format!(
        "test-realm-{}",
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('.')
    )
}

impl Drop for Registry {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- docker-registry's log, last lines ---\n{}",
                lines[lines.len().saturating_sub(20)..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OCI image layout with one empty tar layer: the smallest image skopeo will copy.
pub fn write_oci_layout(dir: &Path) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let layer = vec![0u8; 1024]; // an empty tar archive
    let layer_digest = put_blob(&blobs, &layer);
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{layer_digest}\"]}},\"config\":{{}}}}"
    );
    let config_digest = put_blob(&blobs, config.as_bytes());
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{config_digest}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:{layer_digest}\",\"size\":{}}}]}}",
        config.len(),
        layer.len()
    );
    let manifest_digest = put_blob(&blobs, manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}").unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!(
            "{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{manifest_digest}\",\"size\":{},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"latest\"}}}}]}}",
            manifest.len()
        ),
    )
    .unwrap();
    dir.to_path_buf()
}

/// Writes `bytes` into an OCI layout's `blobs/sha256` as its digest; returns the digest.
pub fn put_blob(blobs: &Path, bytes: &[u8]) -> String {
    let digest = sha256_hex(bytes);
    std::fs::write(blobs.join(&digest), bytes).unwrap();
    digest
}

/// sha256 through coreutils, to keep a hash crate out of the dependencies.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_string()
}
