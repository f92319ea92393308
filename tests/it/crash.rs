//! Crash consistency, measured: SIGKILL `store`, `erase`, a provisioning `get`, `rotate` and
//! `prune` at random moments, on both backends (a real gnome-keyring, and the 0600 file),
//! against the loopback fake Deepgram API, and check after every kill and the next command
//! that:
//!
//! 1. every index entry's secret is readable, with the username the index names;
//! 2. no readable secret is missing from the index (the next command finished or undid the
//!    killed one: no intent is left either);
//! 3. no temp file survives the next command;
//! 4. every credential the fake API created is stored, named by an unfinished-create marker
//!    (by id or its unique comment), or recorded as retiring or to delete (what `erase` and
//!    `rotate` leave: nothing leaks untracked); and no marker names the credential in use;
//! 5. the credential in use is live in the project (no remote action destroyed it), and no
//!    record would delete it.
//!
//! Kills are real: a random delay within the command's measured typical duration, then
//! SIGKILL (no hooks in the binary). The randomness is seeded (`CRASH_SEED` to replay; the
//! seed is printed), and the run is bounded by a kill count and a time budget per backend.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::TestEnv;
use support::fake_deepgram::FakeDeepgram;

/// Kills per backend; both together make the 300 the README reports.
const KILLS_PER_BACKEND: usize = 150;
/// Hard bound per backend (they run in parallel), whatever the machine's load.
const BUDGET: Duration = Duration::from_secs(50);
const SERVICE: &str = "docker-credential-deepgram";

/// splitmix64: small, seedable, good enough to pick moments and operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Store,
    Erase,
    ProvisioningGet,
    Rotate,
    Prune,
}

/// What one backend's run saw.
#[derive(Default)]
struct Tally {
    kills: BTreeMap<Op, usize>,
    finished_before_the_kill: usize,
    /// States a kill left that the next command had to repair: proof the kills hit windows
    /// that matter, not only process start-up.
    intents_left: usize,
    temps_left: usize,
    creates_without_stored_secret: usize,
    violations: Vec<String>,
}

impl Tally {
    fn total_kills(&self) -> usize {
        self.kills.values().sum()
    }
}

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

#[test]
fn sigkill_at_random_moments_never_breaks_the_store() {
    let seed = seed();
    println!("crash harness seed: {seed} (replay with CRASH_SEED={seed})");
    // The two backends run side by side: most of a round is waiting (the kill delay, process
    // start-up), so this halves the wall-clock time without changing what each one does.
    let tallies: Vec<(&str, Duration, Tally)> = std::thread::scope(|scope| {
        let runs: Vec<_> = [("file", false), ("keychain", true)]
            .into_iter()
            .map(|(name, keychain)| {
                scope.spawn(move || {
                    let mut rng = Rng(seed ^ u64::from(keychain));
                    let started = Instant::now();
                    let tally = run_backend(keychain, &mut rng);
                    (name, started.elapsed(), tally)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let mut total = 0;
    let mut report = Vec::new();
    for (name, took, tally) in &tallies {
        let line = format!(
            "{name}: {} kills in {took:.1?} ({:?}), {} finished before the kill; left for the next command: {} intents, {} temp-file sets, {} creates without a stored secret; {} violations",
            tally.total_kills(),
            tally.kills,
            tally.finished_before_the_kill,
            tally.intents_left,
            tally.temps_left,
            tally.creates_without_stored_secret,
            tally.violations.len()
        );
        println!("{line}");
        assert!(
            tally.violations.is_empty(),
            "seed {seed}, {name}: {:#?}",
            tally.violations
        );
        for (op, least) in [
            (Op::Store, 20),
            (Op::Erase, 12),
            (Op::ProvisioningGet, 20),
            (Op::Rotate, 8),
            (Op::Prune, 2),
        ] {
            assert!(
                tally.kills.get(&op).copied().unwrap_or(0) >= least,
                "seed {seed}, {name}: too few kills of {op:?}: {line}"
            );
        }
        total += tally.total_kills();
        report.push(line);
    }
    assert!(total >= 300, "seed {seed}: only {total} kills: {report:#?}");
}

fn run_backend(keychain: bool, rng: &mut Rng) -> Tally {
    let fake = FakeDeepgram::start();
    let mut env = if keychain {
        TestEnv::keyring()
    } else {
        TestEnv::file_store()
    };
    env.point_at(&fake);
    // the warnings about earlier unfinished creates are expected here
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_LOG", "off");

    let typical = measure(&env, rng);
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut n = 0u64;
    while tally.total_kills() < KILLS_PER_BACKEND && started.elapsed() < BUDGET {
        n += 1;
        let op = match rng.below(20) {
            0..=5 => Op::ProvisioningGet,
            6..=11 => Op::Store,
            12..=15 => Op::Erase,
            16..=18 => Op::Rotate,
            _ => Op::Prune,
        };
        let (args, input): (&str, String) = match op {
            Op::Store => {
                let key = ["a.example", "b.example"][rng.below(2) as usize];
                let json = serde_json::json!({"ServerURL": key, "Username": format!("user{n}"), "Secret": format!("SECRET{n}")});
                ("store", json.to_string())
            }
            Op::Erase => {
                let key = ["quay.io", "a.example", "b.example"][rng.below(3) as usize];
                ("erase", key.to_string())
            }
            Op::ProvisioningGet => {
                if stored_id(&env).is_some() {
                    // make this get a first use
                    env.run(&["erase"], b"quay.io").ok();
                }
                ("get", "quay.io".to_string())
            }
            Op::Rotate => {
                if stored_id(&env).is_none() {
                    // something of ours to rotate
                    env.run(&["get"], b"quay.io").ok();
                }
                ("rotate", String::new())
            }
            Op::Prune => ("prune", String::new()),
        };
        let argv: &[&str] = match op {
            Op::Rotate | Op::Prune => &[args, "--yes"],
            _ => &[args],
        };
        let mut child = env.spawn(argv, input.as_bytes());
        // within 80% of the typical run: most rounds kill, a few let the command finish
        let window = typical[&op].as_micros() as u64 * 4 / 5;
        let delay = Duration::from_micros(rng.below(window + 1));
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            tally.finished_before_the_kill += 1;
            let run = support::finish(child);
            if !status.success() {
                tally
                    .violations
                    .push(format!("#{n} {op:?} finished and failed: {run:?}"));
            }
        } else {
            child.kill().unwrap();
            child.wait().unwrap();
            *tally.kills.entry(op).or_default() += 1;
        }

        // what the kill left, before the next command repairs it
        let index = read_json(&env.config_dir().join("index.json"));
        if index["intents"].as_array().is_some_and(|a| !a.is_empty()) {
            tally.intents_left += 1;
        }
        if !temp_files(&env.config_dir()).is_empty() {
            tally.temps_left += 1;
        }

        // the next command
        let next = env.run(&["status", "--json"], b"");
        if next.code != 0 {
            tally
                .violations
                .push(format!("#{n} after {op:?}: status failed: {next:?}"));
            continue;
        }
        check(&env, &fake, n, op, &mut tally);
    }
    tally
}

/// Median duration of each operation, uninterrupted (3 runs each): the kill window.
fn measure(env: &TestEnv, rng: &mut Rng) -> BTreeMap<Op, Duration> {
    let mut typical = BTreeMap::new();
    let time = |args: &[&str], input: &[u8]| {
        let started = Instant::now();
        env.run(args, input).ok();
        started.elapsed()
    };
    for op in [
        Op::Store,
        Op::Erase,
        Op::ProvisioningGet,
        Op::Rotate,
        Op::Prune,
    ] {
        let mut times: Vec<Duration> = (0..3)
            .map(|i| match op {
                Op::Store => time(
                    &["store"],
                    format!(
                        r#"{{"ServerURL":"a.example","Username":"m{i}","Secret":"M{}"}}"#,
                        rng.next()
                    )
                    .as_bytes(),
                ),
                Op::Erase => time(&["erase"], b"a.example"),
                Op::ProvisioningGet => {
                    env.run(&["erase"], b"quay.io").ok();
                    time(&["get"], b"quay.io")
                }
                Op::Rotate => {
                    env.run(&["get"], b"quay.io").ok();
                    time(&["rotate", "--yes"], b"")
                }
                Op::Prune => time(&["prune", "--yes"], b""),
            })
            .collect();
        times.sort();
        typical.insert(op, times[1]);
    }
    env.run(&["erase"], b"quay.io").ok();
    typical
}

/// The Deepgram id of the credential stored for quay.io, from the index.
fn stored_id(env: &TestEnv) -> Option<String> {
    let index = read_json(&env.config_dir().join("index.json"));
    index["entries"]["quay.io"]["provisioned"]["id"]
        .as_str()
        .map(str::to_string)
}

fn read_json(path: &Path) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

/// Registry slot → username, for every record the backend holds.
fn readable_records(env: &TestEnv) -> BTreeMap<String, String> {
    let mut records = BTreeMap::new();
    let mut add = |slot: &str, value: &str| {
        // a registry item's name carries its install: `registry:<key> [dcd:<install>]`
        let slot = slot.rsplit_once(" [dcd:").map_or(slot, |(name, _)| name);
        if let Some(key) = slot.strip_prefix("registry:") {
            let record: Value = serde_json::from_str(value).unwrap_or(Value::Null);
            records.insert(
                key.to_string(),
                record["username"]
                    .as_str()
                    .unwrap_or("<unreadable>")
                    .to_string(),
            );
        }
    };
    let file = read_json(&env.config_dir().join("credentials.json"));
    if let Some(secrets) = file["secrets"].as_object() {
        for (slot, value) in secrets {
            add(slot, value.as_str().unwrap_or(""));
        }
    }
    if let Some(keyring) = &env.keyring {
        // labels are `keyring:<slot>@docker-credential-deepgram` (attributes go to stderr)
        let output = Command::new("secret-tool")
            .args(["search", "--all", "service", SERVICE])
            .env_clear()
            .envs(keyring.env())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut slot = None;
        for line in stdout.lines() {
            if let Some(label) = line.strip_prefix("label = ") {
                slot = label
                    .strip_prefix("keyring:")
                    .and_then(|l| l.strip_suffix(&format!("@{SERVICE}")))
                    .map(str::to_string);
            } else if let (Some(value), Some(name)) = (line.strip_prefix("secret = "), &slot) {
                add(name, value);
            }
        }
    }
    records
}

fn check(env: &TestEnv, fake: &FakeDeepgram, n: u64, op: Op, tally: &mut Tally) {
    let mut found = Vec::new();
    let mut violation = |text: String| found.push(format!("#{n} after {op:?}: {text}"));
    let index = read_json(&env.config_dir().join("index.json"));
    let entries = index["entries"].as_object().cloned().unwrap_or_default();
    let records = readable_records(env);

    // 1. every index entry's secret is readable, with the username the index names
    for (key, entry) in &entries {
        let user = entry["username"].as_str().unwrap_or("");
        match records.get(key) {
            Some(found) if found == user => {}
            other => violation(format!(
                "index names {key} ({user}) but the backend has {other:?}"
            )),
        }
    }
    // 2. no readable secret missing from the index, no intent left
    for key in records.keys() {
        if !entries.contains_key(key) {
            violation(format!(
                "a secret for {key} is readable but not in the index"
            ));
        }
    }
    if index["intents"].as_array().is_some_and(|a| !a.is_empty()) {
        violation(format!(
            "intents survived the next command: {}",
            index["intents"]
        ));
    }
    // 3. no temp file survives the next command
    let temps = temp_files(&env.config_dir());
    if !temps.is_empty() {
        violation(format!("temp files survived the next command: {temps:?}"));
    }
    // 4. every created credential is stored, marked, or was given up by an erase
    let stored = &entries.get("quay.io").map(|e| e["provisioned"].clone());
    let stored_id = stored.as_ref().and_then(|p| p["id"].as_str());
    let stored_comment = stored.as_ref().and_then(|p| p["comment"].as_str());
    let markers = index["unfinished"].as_array().cloned().unwrap_or_default();
    for marker in &markers {
        let names_current = stored_comment.is_some()
            && marker["comment"].as_str() == stored_comment
            || stored_id.is_some() && marker["id"].as_str() == stored_id;
        if names_current {
            violation(format!("a marker names the credential in use: {marker}"));
        }
    }
    let recorded: BTreeSet<&str> = index["to_delete"]
        .as_array()
        .map(|records| records.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    let mut unstored = 0;
    let mut live = BTreeSet::new();
    for credential in fake.credentials() {
        let inner = &credential["distribution_credentials"];
        let id = inner["distribution_credentials_id"].as_str().unwrap();
        let comment = inner["comment"].as_str().unwrap();
        live.insert(id.to_string());
        if stored_id == Some(id) || recorded.contains(id) {
            continue;
        }
        unstored += 1;
        let marked = markers
            .iter()
            .any(|m| m["comment"].as_str() == Some(comment) || m["id"].as_str() == Some(id));
        if !marked {
            violation(format!(
                "credential {id} ({comment}) exists remotely, is not stored, not recorded as retiring or to delete, and no marker names it"
            ));
        }
    }
    // 5. the credential in use is live
    if let Some(id) = stored_id
        && !live.contains(id)
    {
        violation(format!("the credential in use, {id}, was deleted remotely"));
    }
    tally.creates_without_stored_secret = tally.creates_without_stored_secret.max(unstored);
    tally.violations.extend(found);
}
