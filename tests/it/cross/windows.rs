//! The Windows build (`x86_64-pc-windows-gnu`), run for real under Wine: Docker's protocol
//! against Credential Manager (round trip, equivalent server names, the exact not-found
//! sentinel, the 2560-byte cap, UTF-16), the file store, the default config directory, and
//! first-use provisioning against the loopback fake Deepgram API.
//!
//! Booting a Wine prefix takes about 40 s and 700 MB, so one private prefix (in a temp dir,
//! with its own wineserver) serves every test of a run: the first test to ask boots it, and
//! an `atexit` handler stops its wineserver and removes it when the test binary exits. The
//! Windows binary is built here with the cargo that runs the tests (same target dir), so a
//! stale build is never tested; a missing tool fails the run with how to install it. Tests
//! share Credential Manager and may run side by side, so each uses its own registry names.

use crate::support;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;
use support::fake_deepgram::FakeDeepgram;
use support::{Run, files_containing, finish, get_json, spawn_with_input};
use tempfile::TempDir;

const TARGET: &str = "x86_64-pc-windows-gnu";
const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// The run's Wine prefix, booted by the first test that asks and shut down when the test
/// binary exits (libtest has no teardown hook, so an `atexit` handler does it).
static WINE: OnceLock<Wine> = OnceLock::new();

fn wine() -> &'static Wine {
    WINE.get_or_init(|| {
        let started = Instant::now();
        let wine = Wine::boot();
        // SAFETY: registers a plain `extern "C" fn` with no arguments, as atexit(3) expects.
        let registered = unsafe { libc::atexit(shut_down_wine) };
        assert_eq!(registered, 0, "atexit failed");
        eprintln!(
            "windows: Wine prefix ready in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        wine
    })
}

extern "C" fn shut_down_wine() {
    if let Some(wine) = WINE.get() {
        wine.shut_down();
    }
}

/// A private Wine prefix with the Windows build and a running wineserver; dropping it stops
/// the wineserver and removes the prefix.
struct Wine {
    root: TempDir,
    exe: PathBuf,
}

impl Wine {
    fn boot() -> Wine {
        let exe = build_windows_binary();
        let root = tempfile::tempdir().unwrap();
        for sub in ["prefix", "home"] {
            std::fs::create_dir(root.path().join(sub)).unwrap();
        }
        let wine = Wine { root, exe };
        // Persistent, so the prefix's services start once, not for every helper run.
        let server = wine
            .tool("wineserver")
            .arg("-p")
            .status()
            .unwrap_or_else(|err| missing("wineserver", &err));
        assert!(server.success(), "wineserver -p failed: {server}");
        let boot = wine
            .tool("wine")
            .args(["wineboot", "--init"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|err| missing("wine", &err));
        assert!(boot.success(), "wineboot --init failed: {boot}");
        let system32 = wine.prefix().join("drive_c/windows/system32");
        assert!(
            system32.join("kernel32.dll").exists(),
            "wineboot left no {}",
            system32.display()
        );
        // Rust's std needs ProcessPrng from bcryptprimitives.dll, which Wine 8 lacks.
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/cross/windows/bcryptprimitives.c");
        let output = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-s", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(&source)
            .arg("-ladvapi32")
            .output()
            .unwrap_or_else(|err| missing("x86_64-w64-mingw32-gcc", &err));
        assert!(
            output.status.success(),
            "building the ProcessPrng stub failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        wine
    }

    fn prefix(&self) -> PathBuf {
        self.root.path().join("prefix")
    }

    /// A Wine tool in a scrubbed environment: only this prefix, no display, no debug chatter,
    /// no Mono or Gecko installer.
    fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.root.path().join("home"))
            // Debian's wineserver makes its socket dir in TMPDIR: keep it inside the prefix's
            // temp dir, so nothing is left in /tmp.
            .env("TMPDIR", self.root.path())
            .env("WINEPREFIX", self.prefix())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
        command
    }

    /// A fresh config directory for one test.
    fn helper(&self) -> Helper<'_> {
        let dir = tempfile::tempdir_in(self.root.path()).unwrap();
        let mut helper = Helper {
            wine: self,
            dir,
            vars: Vec::new(),
        };
        let config = windows_path(&helper.config_dir());
        helper.set("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR", &config);
        // Each test names its own registries; nothing provisions unless a test asks.
        helper.set("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION", "never");
        helper
    }
}

impl Wine {
    /// Stops the wineserver and removes the prefix (a static's `TempDir` is never dropped).
    fn shut_down(&self) {
        let _ = self.tool("wineserver").arg("-k").status();
        let _ = self.tool("wineserver").arg("-w").status();
        let _ = std::fs::remove_dir_all(self.root.path());
    }
}

/// One test's helper: its own config dir and variables, in the shared prefix.
struct Helper<'a> {
    wine: &'a Wine,
    dir: TempDir,
    vars: Vec<(String, String)>,
}

impl Helper<'_> {
    fn config_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn set(&mut self, name: &str, value: &str) {
        self.unset(name);
        self.vars.push((name.to_string(), value.to_string()));
    }

    fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut command = self.wine.tool("wine");
        command.arg(&self.wine.exe).args(args);
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        finish(spawn_with_input(&mut command, stdin))
    }

    fn store(&self, server: &str, user: &str, secret: &str) -> Run {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
        self.run(&["store"], format!("{json}\n").as_bytes())
    }

    fn get(&self, server: &str) -> Run {
        self.run(&["get"], server.as_bytes())
    }

    /// The backend the index names for `key`.
    fn backend_of(&self, key: &str) -> String {
        let index = std::fs::read_to_string(self.config_dir().join("index.json")).unwrap();
        let index: Value = serde_json::from_str(&index).unwrap();
        index["entries"][key]["backend"]
            .as_str()
            .unwrap_or_else(|| panic!("no index entry for {key}: {index}"))
            .to_string()
    }
}

fn quiet_success(run: &Run) {
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run:?}"
    );
}

#[test]
fn version_runs() {
    let wine = wine();
    let run = wine.helper().run(&["version"], b"");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "docker-credential-deepgram 0.1.0\n"),
        "{run:?}"
    );
}

#[test]
fn store_get_list_erase_round_trip_in_credential_manager() {
    let wine = wine();
    let helper = wine.helper();
    quiet_success(&helper.store("https://roundtrip.example", "alice", "pw-round-trip"));
    // The keychain holds it: the index says so and no file has the secret.
    assert_eq!(helper.backend_of("roundtrip.example"), "keyring");
    assert!(!helper.config_dir().join("credentials.json").exists());
    assert_eq!(
        files_containing(helper.dir.path(), b"pw-round-trip"),
        Vec::<PathBuf>::new()
    );

    let got = helper.get("https://roundtrip.example");
    assert_eq!(
        (got.code, got.stdout.as_str(), got.stderr.as_str()),
        (
            0,
            get_json("https://roundtrip.example", "alice", "pw-round-trip").as_str(),
            ""
        )
    );
    let listed = helper.run(&["list"], b"");
    assert_eq!(
        (listed.code, listed.stdout.as_str()),
        (0, "{\"https://roundtrip.example\":\"alice\"}\n")
    );

    // Overwrite, then erase: erasing twice is silent both times.
    quiet_success(&helper.store("https://roundtrip.example", "alice", "pw-two"));
    assert_eq!(
        helper.get("https://roundtrip.example").stdout,
        get_json("https://roundtrip.example", "alice", "pw-two")
    );
    quiet_success(&helper.run(&["erase"], b"https://roundtrip.example"));
    quiet_success(&helper.run(&["erase"], b"https://roundtrip.example"));
    let gone = helper.get("https://roundtrip.example");
    assert_eq!((gone.code, gone.stdout.as_str()), (1, NOT_FOUND));
    assert_eq!(helper.run(&["list"], b"").stdout, "{}\n");

    // Gone from Credential Manager too, not only from the index: a fresh config dir in the
    // same prefix finds nothing either.
    let other = wine.helper();
    assert_eq!(other.get("roundtrip.example").stdout, NOT_FOUND);
}

#[test]
fn equivalent_server_names_find_one_credential() {
    let wine = wine();
    let helper = wine.helper();
    quiet_success(&helper.store("quay.io", "robot", "pw-quay"));
    for name in [
        "https://quay.io/",
        "https://quay.io",
        "QUAY.IO:443",
        "quay.io/v2/",
    ] {
        let got = helper.get(name);
        assert_eq!(
            (got.code, got.stdout.as_str()),
            (0, get_json(name, "robot", "pw-quay").as_str()),
            "get {name}"
        );
    }
    quiet_success(&helper.store("https://quay.io/", "robot", "pw-quay-2"));
    assert_eq!(
        helper.run(&["list"], b"").stdout,
        "{\"https://quay.io/\":\"robot\"}\n"
    );
    // Another port is another registry.
    assert_eq!(helper.get("quay.io:8443").stdout, NOT_FOUND);
    quiet_success(&helper.run(&["erase"], b"https://quay.io/"));
    assert_eq!(helper.get("quay.io").stdout, NOT_FOUND);
}

#[test]
fn nothing_stored_is_the_exact_not_found_sentinel() {
    let wine = wine();
    let helper = wine.helper();
    let run = helper.get("https://nothing.example");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, NOT_FOUND, "")
    );
}

#[test]
fn non_ascii_secret_survives_utf16_storage() {
    let wine = wine();
    let helper = wine.helper();
    let secret = "pässwörd-界-😀-\\\"quoted\\\"";
    quiet_success(&helper.store("unicode.example", "ünïcödé", secret));
    assert_eq!(helper.backend_of("unicode.example"), "keyring");
    let got = helper.get("unicode.example");
    assert_eq!(got.code, 0, "{got:?}");
    let value: Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(value["Username"], "ünïcödé");
    assert_eq!(value["Secret"], secret);
    quiet_success(&helper.run(&["erase"], b"unicode.example"));
}

/// What the helper keeps for one credential: `{"username":…,"secret":…}`, 27 characters
/// around the two values.
fn secret_for_record_of(utf16_units: usize, username: &str) -> String {
    "s".repeat(utf16_units - 27 - username.len())
}

#[test]
fn oversized_credential_is_a_clear_error_and_the_file_store_takes_it() {
    let wine = wine();
    let mut helper = wine.helper();
    // Exactly at the cap: 1280 UTF-16 units, 2560 bytes.
    let fits = secret_for_record_of(1280, "u");
    quiet_success(&helper.store("big.example", "u", &fits));
    assert_eq!(
        helper.get("big.example").stdout,
        get_json("big.example", "u", &fits)
    );

    let too_big = format!("{fits}X");
    let mut refused = helper.store("big.example", "u", &too_big);
    // The item's name carries the install (`registry:<host> [dcd:<install id>]`).
    for text in [&mut refused.stdout, &mut refused.stderr] {
        if let Some(start) = text.find(" [dcd:")
            && let Some(len) = text[start..].find(']')
        {
            text.replace_range(start..start + len + 1, "");
        }
    }
    let line = "keychain error: the credential for registry:big.example is 2562 bytes as UTF-16, more than the 2560 that Windows Credential Manager holds: set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file to keep it in the file store";
    assert_eq!(
        (refused.code, refused.stdout.as_str()),
        (1, format!("{line}\n").as_str()),
        "{refused:?}"
    );
    assert!(refused.stderr.contains(line), "{refused:?}");
    assert!(!refused.stderr.contains(&too_big) && !refused.stdout.contains(&too_big));
    // Nothing half-written: the credential that fitted is still the one answered.
    assert_eq!(
        helper.get("big.example").stdout,
        get_json("big.example", "u", &fits)
    );

    // A Docker Hub-sized token, far over the cap, goes to the file store when asked.
    let token = "t".repeat(6000);
    helper.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    quiet_success(&helper.store("big.example", "u", &token));
    assert_eq!(helper.backend_of("big.example"), "file");
    assert_eq!(
        helper.get("big.example").stdout,
        get_json("big.example", "u", &token)
    );
    quiet_success(&helper.run(&["erase"], b"big.example"));
    helper.unset("DOCKER_CREDENTIAL_DEEPGRAM_STORE");
    quiet_success(&helper.run(&["erase"], b"big.example"));
    assert_eq!(helper.get("big.example").stdout, NOT_FOUND);
}

#[test]
fn file_store_keeps_secrets_out_of_credential_manager() {
    let wine = wine();
    let mut helper = wine.helper();
    helper.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    quiet_success(&helper.store("https://filestore.example", "bob", "pw-file"));
    assert_eq!(helper.backend_of("filestore.example"), "file");
    assert_eq!(
        files_containing(helper.dir.path(), b"pw-file"),
        vec![helper.config_dir().join("credentials.json")]
    );
    assert_eq!(
        helper.get("filestore.example").stdout,
        get_json("filestore.example", "bob", "pw-file")
    );
    assert_eq!(
        helper.run(&["list"], b"").stdout,
        "{\"https://filestore.example\":\"bob\"}\n"
    );

    // Credential Manager never got it: the keychain-only view of the same prefix is empty.
    let mut keychain_only = wine.helper();
    keychain_only.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "keyring");
    assert_eq!(keychain_only.get("filestore.example").stdout, NOT_FOUND);

    // Back to `auto` with Credential Manager present: what the file holds is still found.
    helper.unset("DOCKER_CREDENTIAL_DEEPGRAM_STORE");
    assert_eq!(
        helper.get("filestore.example").stdout,
        get_json("filestore.example", "bob", "pw-file")
    );
    helper.set("DOCKER_CREDENTIAL_DEEPGRAM_STORE", "file");
    quiet_success(&helper.run(&["erase"], b"filestore.example"));
    assert_eq!(
        files_containing(helper.dir.path(), b"pw-file"),
        Vec::<PathBuf>::new()
    );
    assert_eq!(helper.get("filestore.example").stdout, NOT_FOUND);
}

#[test]
fn default_config_dir_is_roaming_appdata() {
    let wine = wine();
    let mut helper = wine.helper();
    helper.unset("DOCKER_CREDENTIAL_DEEPGRAM_CONFIG_DIR");
    quiet_success(&helper.store("appdata.example", "carol", "pw-appdata"));
    let users = wine.prefix().join("drive_c/users");
    let indexes: Vec<PathBuf> = std::fs::read_dir(&users)
        .unwrap()
        .map(|user| {
            user.unwrap()
                .path()
                .join("AppData/Roaming/docker-credential-deepgram/config/index.json")
        })
        .filter(|index| index.exists())
        .collect();
    assert_eq!(
        indexes.len(),
        1,
        "index.json under {}: {indexes:?}",
        users.display()
    );
    let index = std::fs::read_to_string(&indexes[0]).unwrap();
    assert!(index.contains("\"appdata.example\""), "{index}");
    assert!(!index.contains("pw-appdata"));
    quiet_success(&helper.run(&["erase"], b"appdata.example"));
}

#[test]
fn first_use_provisions_once_against_the_fake_api() {
    let wine = wine();
    let fake = FakeDeepgram::start();
    fake.set_credential(
        "64d1f840-3b7e-43b2-a7b6-d56756d4476d",
        "R2CTHDZ27R360V8H5LOWGBQ871HE9RP5",
    );
    let mut helper = wine.helper();
    helper.unset("DOCKER_CREDENTIAL_DEEPGRAM_PROVISION");
    helper.set("DOCKER_CREDENTIAL_DEEPGRAM_REGISTRIES", "provision.example");
    helper.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
    helper.set("DEEPGRAM_API_KEY", &fake.api_key());
    helper.set("DEEPGRAM_PROJECT_ID", &fake.project_id());

    let first = helper.get("provision.example");
    assert_eq!(first.code, 0, "{first:?}");
    let answer: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(answer["ServerURL"], "provision.example");
    assert_eq!(answer["Secret"], "R2CTHDZ27R360V8H5LOWGBQ871HE9RP5");
    let username = answer["Username"].as_str().unwrap().to_string();
    assert_eq!(helper.backend_of("provision.example"), "keyring");
    assert_eq!(fake.creates(), 1);

    // Later calls answer from Credential Manager without the network.
    let second = helper.get("https://provision.example/");
    assert_eq!(
        (second.code, second.stdout.as_str()),
        (
            0,
            get_json(
                "https://provision.example/",
                &username,
                "R2CTHDZ27R360V8H5LOWGBQ871HE9RP5"
            )
            .as_str()
        )
    );
    assert_eq!(fake.creates(), 1);
    assert_eq!(
        files_containing(helper.dir.path(), b"R2CTHDZ27R360V8H5LOWGBQ871HE9RP5"),
        Vec::<PathBuf>::new()
    );
    assert!(
        files_containing(helper.dir.path(), fake.api_key().as_bytes()).is_empty(),
        "the API key was written to a file"
    );
    quiet_success(&helper.run(&["erase"], b"provision.example"));
}

/// `cargo build --target x86_64-pc-windows-gnu` with the cargo running these tests, from this
/// package (so the same target dir), returning the .exe cargo reports.
fn build_windows_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let started = Instant::now();
    let mut child = Command::new(&cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--locked", "--bin", "docker-credential-deepgram"])
        .args([
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| missing(&cargo, &err));
    let stdout = child.stdout.take().unwrap();
    let mut exe = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(&line.unwrap()) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "docker-credential-deepgram"
            && let Some(path) = message["executable"].as_str()
        {
            exe = Some(PathBuf::from(path));
        }
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo build --target {TARGET} failed (needs `rustup target add {TARGET}` and the \
         Debian package gcc-mingw-w64-x86-64; ./test.sh installs both):\n{stderr}"
    );
    let exe = exe.unwrap_or_else(|| panic!("cargo build reported no executable:\n{stderr}"));
    assert!(exe.exists(), "{} is missing", exe.display());
    eprintln!(
        "windows: built {} in {:.1}s",
        exe.display(),
        started.elapsed().as_secs_f64()
    );
    exe
}

fn missing(program: &str, err: &std::io::Error) -> ! {
    panic!(
        "cannot run {program} ({err}): tests/windows.rs needs Debian's wine, wine64 and \
         gcc-mingw-w64-x86-64 (./test.sh installs them as root)"
    )
}

/// The path Wine's Windows programs see for a Unix path: drive Z: is `/`.
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}
