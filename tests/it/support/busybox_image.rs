//! A tiny image an engine can run: one layer holding busybox-static's `/bin/busybox` (about
//! 2 MB, so vfs copies stay cheap), written as an OCI image layout by hand and pushed with
//! skopeo under explicit credentials, so that pushing never asks the helper.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::registry::put_blob;

/// The static busybox the layer carries (Debian's busybox-static).
const BUSYBOX: &str = "/bin/busybox";

/// Writes the layout into `dir` (created) and returns it. The image's default command prints
/// `hello from busybox`.
pub fn write_layout(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap_or_else(|err| {
        panic!("cannot copy {BUSYBOX} ({err}): ./test.sh installs busybox-static")
    });
    let layer_tar = dir.join("layer.tar");
    let tar = Command::new("tar")
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "-C",
        ])
        .arg(&root)
        .arg("-cf")
        .arg(&layer_tar)
        .arg("bin")
        .status()
        .unwrap();
    assert!(tar.success(), "tar failed");
    let layer = std::fs::read(&layer_tar).unwrap();

    let layout = dir.join("oci");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    // Uncompressed: the diff id is the layer's own digest.
    let layer_digest = put_blob(&blobs, &layer);
    let config = format!(
        "{{\"architecture\":\"{arch}\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"/bin/busybox\",\"echo\",\"hello from busybox\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{layer_digest}\"]}}}}",
        arch = oci_arch()
    );
    let config_digest = put_blob(&blobs, config.as_bytes());
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{config_digest}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:{layer_digest}\",\"size\":{}}}]}}",
        config.len(),
        layer.len()
    );
    let manifest_digest = put_blob(&blobs, manifest.as_bytes());
    std::fs::write(
        layout.join("oci-layout"),
        "{\"imageLayoutVersion\":\"1.0.0\"}",
    )
    .unwrap();
    std::fs::write(
        layout.join("index.json"),
        format!(
            "{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{manifest_digest}\",\"size\":{},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"latest\"}}}}]}}",
            manifest.len()
        ),
    )
    .unwrap();
    layout
}

/// Pushes the layout as `<host>/<repo>:<tag>` with explicit credentials (skopeo skips blobs
/// the registry already has, so further tags cost one manifest each).
pub fn push(layout: &Path, host: &str, repo: &str, tag: &str, user: &str, password: &str) {
    let output = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", "--dest-creds"])
        .arg(format!("{user}:{password}"))
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{host}/{repo}:{tag}"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", layout)
        .output()
        .expect("skopeo is installed (apt-get install skopeo)");
    assert!(
        output.status.success(),
        "skopeo push of {repo}:{tag} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The OCI name of the architecture this busybox was built for.
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
