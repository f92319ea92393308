//! The Debian package: `cargo deb --locked` builds it from this checkout (a release build, once
//! per run), `dpkg-deb` shows what it holds, and the binary unpacked into a scratch root runs,
//! stores and gets a credential, and ships the completions and man page it generates itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NAME: &str = "docker-credential-deepgram";

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: Output) -> String {
    String::from_utf8(output.stdout).unwrap()
}

/// The installed binary with a scrubbed environment and the file store in a temp dir.
fn installed(binary: &Path, scratch: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let home = scratch.join("home");
    let config = scratch.join("config");
    for dir in [&home, &config] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", &config)
        .env("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Removes what `cargo test` sets for this test's own package (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...). ring's build script declares `rerun-if-env-changed` on several of them,
/// so with them set, this release build would differ from the one `install.sh`
/// (tests/install.rs, which clears its environment) and CI's benchmark make, and ring and
/// everything above it would be rebuilt in release for each (about 2 minutes on 2 cores).
/// Without them, the three share one build.
fn without_package_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(&*name);
        }
    }
}

#[test]
fn cargo_deb_builds_a_package_that_installs_and_runs() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["deb", "--locked", "--output"])
        .arg(&out_dir)
        .current_dir(manifest_dir);
    without_package_env(&mut command);
    let built = run(&mut command);
    let deb: PathBuf = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .unwrap_or_else(|| panic!("no .deb in {}: {built:?}", out_dir.display()));
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        deb.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("{NAME}_{version}")),
        "{}",
        deb.display()
    );

    let info = text(run(Command::new("dpkg-deb").arg("--info").arg(&deb)));
    for field in [
        format!("Package: {NAME}"),
        format!("Version: {version}"),
        "Section: utils".to_string(),
        "Depends: libc6".to_string(),
    ] {
        assert!(info.contains(&field), "{field} missing: {info}");
    }

    let contents = text(run(Command::new("dpkg-deb").arg("--contents").arg(&deb)));
    let has = |path: &str| {
        contents.lines().any(|line| {
            line.ends_with(&format!(" ./{path}")) || line.ends_with(&format!(" {path}"))
        })
    };
    for path in [
        format!("usr/bin/{NAME}"),
        format!("usr/share/man/man1/{NAME}.1.gz"),
        format!("usr/share/bash-completion/completions/{NAME}"),
        format!("usr/share/zsh/vendor-completions/_{NAME}"),
        format!("usr/share/fish/vendor_completions.d/{NAME}.fish"),
        format!("usr/share/doc/{NAME}/README.md"),
        format!("usr/share/doc/{NAME}/copyright"),
    ] {
        assert!(has(&path), "{path} missing: {contents}");
    }
    let binary_line = contents
        .lines()
        .find(|line| line.ends_with(&format!("usr/bin/{NAME}")))
        .unwrap();
    assert!(
        binary_line.starts_with("-rwxr-xr-x 0/0 ")
            || binary_line.starts_with("-rwxr-xr-x root/root "),
        "the binary is root's and 0755: {binary_line}"
    );

    // Installed into a scratch root, the way dpkg lays it out.
    let root = scratch.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let binary = root.join("usr/bin").join(NAME);
    let work = scratch.path().join("work");

    let version_line = installed(&binary, &work, &["version"], b"");
    assert_eq!(
        String::from_utf8_lossy(&version_line.stdout),
        format!("{NAME} {version}\n")
    );
    let stored = installed(
        &binary,
        &work,
        &["store"],
        br#"{"ServerURL":"quay.io","Username":"alice","Secret":"pw1"}"#,
    );
    assert!(stored.status.success(), "{stored:?}");
    let got = installed(&binary, &work, &["get"], b"quay.io");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        "{\"ServerURL\":\"quay.io\",\"Username\":\"alice\",\"Secret\":\"pw1\"}\n"
    );

    // The shipped completions and man page are what the installed binary generates.
    for (shell, path) in [
        (
            "bash",
            format!("usr/share/bash-completion/completions/{NAME}"),
        ),
        ("zsh", format!("usr/share/zsh/vendor-completions/_{NAME}")),
        (
            "fish",
            format!("usr/share/fish/vendor_completions.d/{NAME}.fish"),
        ),
    ] {
        let generated = installed(&binary, &work, &["completions", shell], b"");
        assert_eq!(
            String::from_utf8_lossy(&generated.stdout),
            std::fs::read_to_string(root.join(&path)).unwrap(),
            "{path}"
        );
    }
    let page = root.join(format!("usr/share/man/man1/{NAME}.1.gz"));
    let man = text(run(Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(&page)
        .env_clear()
        .env("MANWIDTH", "100")));
    for needle in ["COMMANDS", "--kubelet-config", "completions"] {
        assert!(
            man.contains(needle),
            "{needle} missing from the man page: {man}"
        );
    }
    let readme = std::fs::read_to_string(root.join(format!("usr/share/doc/{NAME}/README.md")));
    assert!(readme.unwrap().contains("apt install ./"));
}
