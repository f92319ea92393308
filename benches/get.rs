//! Benchmark: the cost of a cache-hit `get` as a whole process, the way Docker pays it.
//!
//! Side by side in one run, interleaved so that machine noise hits both alike:
//! - ours against Debian's `docker-credential-secretservice`, both on the same unlocked
//!   gnome-keyring in a private D-Bus session (target: ours at most half the peer's time);
//! - ours with the file store against spawning `true` (target: within 2 ms).
//!
//! Prints medians and ratios. Not a test: it never fails on a slow machine, it reports.
//! Only loopback and private sockets are used; every loop is bounded.

// The integration tests' harness; the benchmark uses a little of it.
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use support::fake_deepgram;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{SecretService, TestEnv};

const RUNS: usize = 200;
const WARMUP: usize = 10;

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a run count for quick looks.
    let runs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(RUNS);
    println!("cache-hit `get`, whole process, {runs} runs each, medians");

    keychain_versus_secretservice(runs);
    file_store_versus_true(runs);
    first_use(runs.clamp(5, 40));
}

/// A first-use `get` (nothing stored): the create against the loopback fake API and the
/// keychain write, measured by erasing the local copy between runs.
fn first_use(runs: usize) {
    let fake = fake_deepgram::FakeDeepgram::start();
    for discover in [false, true] {
        let mut env = TestEnv::keyring();
        env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &fake.url());
        env.set("DEEPGRAM_API_KEY", &fake.api_key());
        if !discover {
            env.set("DEEPGRAM_PROJECT_ID", &fake.project_id());
        }
        let before = fake.requests().len();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let run_started = Instant::now();
            let run = env.get("quay.io");
            times.push(run_started.elapsed());
            assert_eq!(run.code, 0, "first-use get failed: {run:?}");
            env.run(&["erase"], b"quay.io").ok();
        }
        let requests = (fake.requests().len() - before) as f64 / runs as f64;
        println!(
            "  first use ({}): {:.2} ms median, {requests:.1} requests per get against the fake API, {runs} runs",
            if discover {
                "project discovered"
            } else {
                "project configured"
            },
            median_ms(times)
        );
    }
}

fn keychain_versus_secretservice(runs: usize) {
    let env = TestEnv::keyring();
    let keyring: &SecretService = env.keyring.as_ref().unwrap();
    env.store("quay.io", "deepgram+bench", "bench-secret").ok();
    let peer = "docker-credential-secretservice";
    let mut store_peer = Command::new(peer);
    store_peer.arg("store").env_clear().envs(keyring.env());
    if run_with_input(&mut store_peer, b"{\"ServerURL\":\"quay.io\",\"Username\":\"deepgram+bench\",\"Secret\":\"bench-secret\"}\n").is_none() {
        println!("  {peer} not installed (apt-get install golang-docker-credential-helpers): skipped");
        return;
    }
    let mut ours = env.command(&["get"]);
    let mut theirs = Command::new(peer);
    theirs.arg("get").env_clear().envs(keyring.env());
    let (ours_ms, theirs_ms) = interleaved(runs, &mut ours, &mut theirs, b"quay.io");
    println!(
        "  secret service: ours {ours_ms:.2} ms, {peer} {theirs_ms:.2} ms, ratio {:.2} (target <= 0.50: {})",
        ours_ms / theirs_ms,
        verdict(ours_ms / theirs_ms <= 0.5)
    );
}

fn file_store_versus_true(runs: usize) {
    let env = TestEnv::file_store();
    env.store("quay.io", "deepgram+bench", "bench-secret").ok();
    let mut ours = env.command(&["get"]);
    let mut baseline = Command::new("true");
    let (ours_ms, true_ms) = interleaved(runs, &mut ours, &mut baseline, b"quay.io");
    println!(
        "  file store: ours {ours_ms:.2} ms, spawning `true` {true_ms:.2} ms, difference {:.2} ms (target <= 2 ms: {})",
        ours_ms - true_ms,
        verdict(ours_ms - true_ms <= 2.0)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// Median wall times in ms of `a` and `b`, run alternately. A failed run ends the sampling
/// (it is reported with what the command printed: e.g. gnome-keyring-daemon itself can abort
/// under a long run of sessions, and the private bus activates no other, so every later call
/// fails; see the README's testing section); the medians are of the pairs measured before it.
fn interleaved(runs: usize, a: &mut Command, b: &mut Command, input: &[u8]) -> (f64, f64) {
    let mut times_a = Vec::with_capacity(runs);
    let mut times_b = Vec::with_capacity(runs);
    'runs: for round in 0..WARMUP + runs {
        let mut pair = [Duration::ZERO; 2];
        for (slot, command) in [&mut *a, &mut *b].into_iter().enumerate() {
            match run_with_input(command, input) {
                Some(time) => pair[slot] = time,
                None => {
                    println!(
                        "  run {round} failed, sampling stopped after {} pairs: {}",
                        times_a.len(),
                        explain_failure(command, input)
                    );
                    break 'runs;
                }
            }
        }
        if round >= WARMUP {
            times_a.push(pair[0]);
            times_b.push(pair[1]);
        }
    }
    assert!(
        !times_a.is_empty(),
        "no run of the pair succeeded after the warm-up"
    );
    (median_ms(times_a), median_ms(times_b))
}

/// What a command that failed printed, run once more with its output kept.
fn explain_failure(command: &mut Command, input: &[u8]) -> String {
    let mut child = match command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return format!("{command:?} does not start: {err}"),
    };
    let _ = child.stdin.take().unwrap().write_all(input);
    match child.wait_with_output() {
        Ok(output) => format!(
            "{command:?} failed ({}): stdout {:?}, stderr {:?}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => format!("{command:?} failed: {err}"),
    }
}

/// Spawns, feeds stdin, waits; `None` if the program is missing or fails.
fn run_with_input(command: &mut Command, input: &[u8]) -> Option<Duration> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let _ = child.stdin.take().unwrap().write_all(input);
    let status = child.wait().ok()?;
    let elapsed = started.elapsed();
    status.success().then_some(elapsed)
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}
