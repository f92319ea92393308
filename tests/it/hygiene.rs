//! Process hygiene, observed from outside: a running helper is not dumpable (so no core file
//! and no same-user ptrace can copy a secret out of it) and has a core-size limit of 0.

use crate::support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::TestEnv;

/// An unprivileged uid for the helper when the tests run as root: a non-dumpable process's
/// `/proc/<pid>/` files belong to root (proc(5)), which only shows when the process is not.
const NOBODY: u32 = 65534;

#[test]
fn a_running_helper_is_not_dumpable_and_writes_no_core() {
    let env = TestEnv::file_store();
    let mut command = env.command(&["get"]);
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    if me == 0 {
        command.uid(NOBODY).gid(NOBODY);
    }
    // stdin stays open: the helper waits for the server name, alive, with hygiene applied
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc_dir = format!("/proc/{}", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut owner, mut core_limit) = (None, None);
    while Instant::now() < deadline {
        owner = std::fs::metadata(format!("{proc_dir}/status"))
            .ok()
            .map(|m| m.uid());
        core_limit = std::fs::read_to_string(format!("{proc_dir}/limits"))
            .ok()
            .and_then(|limits| {
                limits
                    .lines()
                    .find(|line| line.starts_with("Max core file size"))
                    .map(|line| {
                        line.split_whitespace()
                            .skip(4)
                            .take(2)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
            });
        if owner == Some(0) && core_limit.as_deref() == Some("0 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        owner,
        Some(0),
        "a non-dumpable process's /proc files belong to root, not to its uid"
    );
    assert_eq!(
        core_limit.as_deref(),
        Some("0 0"),
        "RLIMIT_CORE soft and hard"
    );
}
