//! The confirmations of `rotate`, `revoke` and `prune`, answered on a real terminal: the
//! helper runs with a pseudo-terminal as its controlling terminal and stdin, stdout and
//! stderr, as a person meets it. `n` ends with nothing done; `y` proceeds. Every read is
//! bounded in time.

use crate::support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Child;
use std::time::{Duration, Instant};

use support::TestEnv;
use support::fake_deepgram::{FakeDeepgram, Fault};

/// A terminal session with the helper running `args` on it.
struct Terminal {
    master: File,
    child: Child,
    screen: String,
}

impl Terminal {
    fn start(env: &TestEnv, args: &[&str]) -> Terminal {
        let (child, master) = support::spawn_on_terminal(env.command(args));
        Terminal {
            master,
            child,
            screen: String::new(),
        }
    }

    /// Reads the screen until it shows `text` (at most 20 s).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let fd = self.master.as_raw_fd();
        while !self.screen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "never saw {text:?}; screen: {:?}",
                self.screen
            );
            let mut poll = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, ours, for at most the time left.
            let ready = unsafe { libc::poll(&mut poll, 1, left.as_millis().min(1000) as i32) };
            if ready <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            match self.master.read(&mut buf) {
                Ok(0) | Err(_) => {
                    assert!(
                        self.screen.contains(text),
                        "the terminal closed; screen: {:?}",
                        self.screen
                    );
                }
                Ok(n) => self.screen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\n").unwrap();
    }

    /// Reads what is left and the exit code (bounded).
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let fd = self.master.as_raw_fd();
                // Drain what the helper wrote before exiting.
                loop {
                    let mut poll = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one pollfd, ours, no wait.
                    if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
                        break;
                    }
                    let mut buf = [0u8; 4096];
                    match self.master.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => self.screen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    }
                }
                return (status.code().unwrap_or(-1), self.screen);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the helper did not exit; screen: {:?}", self.screen);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn provisioned(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::file_store().pointed_at(fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "0s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_ROTATE_GRACE", "0s");
    env.get("quay.io").ok();
    env
}

#[test]
fn rotate_on_a_terminal_n_changes_nothing_and_y_rotates() {
    let fake = FakeDeepgram::start();
    let env = provisioned(&fake);
    let before = fake.credential_ids();

    let mut no = Terminal::start(&env, &["rotate"]);
    no.wait_for("[y/N]");
    no.type_line("n");
    let (code, screen) = no.finish();
    assert_eq!(code, 1, "{screen:?}");
    assert!(
        screen.contains("not confirmed; nothing was changed"),
        "{screen:?}"
    );
    assert_eq!((fake.credential_ids(), fake.creates()), (before.clone(), 1));

    let mut yes = Terminal::start(&env, &["rotate"]);
    yes.wait_for("[y/N]");
    yes.type_line("y");
    let (code, screen) = yes.finish();
    assert_eq!(code, 0, "{screen:?}");
    assert!(
        screen.contains("rotated the Deepgram credential for quay.io"),
        "{screen:?}"
    );
    assert_eq!(fake.creates(), 2);
    assert_ne!(fake.credential_ids(), before);
}

#[test]
fn revoke_on_a_terminal_n_changes_nothing_and_y_revokes() {
    let fake = FakeDeepgram::start();
    let env = provisioned(&fake);

    let mut no = Terminal::start(&env, &["revoke"]);
    no.wait_for("[y/N]");
    no.type_line("");
    let (code, screen) = no.finish();
    assert_eq!(code, 1, "{screen:?}");
    assert_eq!((fake.deletes(), fake.credential_ids().len()), (0, 1));

    let mut yes = Terminal::start(&env, &["revoke"]);
    yes.wait_for("[y/N]");
    yes.type_line("yes");
    let (code, screen) = yes.finish();
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains("revoked Deepgram credential"), "{screen:?}");
    assert_eq!(fake.credential_ids(), Vec::<String>::new());
}

#[test]
fn prune_on_a_terminal_n_changes_nothing_and_y_deletes_the_orphan() {
    let fake = FakeDeepgram::start();
    let env = provisioned(&fake);
    // An ambiguous create leaves an orphan for prune.
    env.run(&["erase"], b"quay.io").ok();
    fake.push_fault("POST", "/distribution/credentials", Fault::Hangup);
    assert_eq!(env.get("quay.io").code, 1);
    env.get("quay.io").ok();
    let live = fake.credential_ids().len();

    let mut no = Terminal::start(&env, &["prune"]);
    no.wait_for("[y/N]");
    no.type_line("n");
    let (code, screen) = no.finish();
    assert_eq!(code, 1, "{screen:?}");
    assert!(screen.contains("will delete"), "{screen:?}");
    assert_eq!((fake.deletes(), fake.credential_ids().len()), (0, live));

    let mut yes = Terminal::start(&env, &["prune"]);
    yes.wait_for("[y/N]");
    yes.type_line("y");
    let (code, screen) = yes.finish();
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains("deleted "), "{screen:?}");
    assert!(fake.credential_ids().len() < live);
}

#[test]
fn export_refuses_a_terminal_and_the_advice_pipe_works() {
    let fake = FakeDeepgram::start();
    let env = provisioned(&fake);
    let terminal = Terminal::start(&env, &["export"]);
    let (code, screen) = terminal.finish();
    assert_eq!(code, 1, "{screen:?}");
    assert!(
        screen.contains("refusing to print a secret to a terminal: pipe it"),
        "{screen:?}"
    );
    assert!(
        !screen.contains("dockerconfigjson"),
        "no secret on screen: {screen:?}"
    );
    // The advice: pipe it (here into this test, as into `kubectl apply -f -`).
    let piped = env.run(&["export"], b"");
    piped.ok();
    assert!(
        piped.stdout.contains("kubernetes.io/dockerconfigjson"),
        "{piped:?}"
    );
}
