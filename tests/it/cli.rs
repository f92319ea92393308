//! The command line a person sees: `--help` of every command, suggestions for typos, the shell
//! completions (checked by the shells themselves), and the protocol commands left untouched.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::TestEnv;

const PROTOCOL_USAGE: &str = "Usage: docker-credential-deepgram <store|get|erase|list|version>\n";

#[test]
fn top_level_help_lists_every_command_with_a_line() {
    let env = TestEnv::file_store();
    for flag in ["--help", "-h", "help"] {
        let run = env.run(&[flag], b"");
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{flag}: {run:?}");
        for command in [
            "login",
            "logout",
            "status",
            "doctor",
            "revoke",
            "rotate",
            "prune",
            "configure",
            "export",
            "kubelet",
            "completions",
            "get",
            "store",
            "erase",
            "list",
            "version",
        ] {
            let line = run
                .stdout
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{command} ")))
                .unwrap_or_else(|| panic!("{flag}: no line for {command}: {}", run.stdout));
            assert!(
                line.split_whitespace().count() >= 4,
                "{command}: {line:?} explains nothing"
            );
        }
    }
}

#[test]
fn every_human_commands_help_names_and_explains_each_option() {
    let env = TestEnv::file_store();
    let commands: &[(&str, &[&str])] = &[
        ("login", &["--project <ID>"]),
        ("logout", &["--all"]),
        ("status", &["--json", "--remote"]),
        ("revoke", &["--registry <REGISTRY>", "--yes", "--json"]),
        ("rotate", &["--registry <REGISTRY>", "--yes", "--json"]),
        (
            "prune",
            &[
                "--dry-run",
                "--yes",
                "--json",
                "--all-installs",
                "--older-than <DURATION>",
            ],
        ),
        (
            "doctor",
            &[
                "--json",
                "--offline",
                "--registry <REGISTRY>",
                "--kubelet-config <PATH>",
            ],
        ),
        (
            "configure",
            &[
                "--dry-run",
                "--undo",
                "--force",
                "--migrate",
                "--no-migrate",
                "--kubelet",
                "--kubelet-config <PATH>",
                "--state-dir <DIR>",
            ],
        ),
        (
            "export",
            &[
                "--registry <REGISTRY>",
                "--name <NAME>",
                "--namespace <NAMESPACE>",
                "--format <FORMAT>",
                "--force",
            ],
        ),
        ("kubelet", &[]),
        ("completions", &["<SHELL>"]),
    ];
    for (command, options) in commands {
        let run = env.run(&[command, "--help"], b"");
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (0, ""),
            "{command}: {run:?}"
        );
        assert!(
            run.stdout
                .contains(&format!("Usage: docker-credential-deepgram {command}")),
            "{command}: {}",
            run.stdout
        );
        let lines: Vec<&str> = run.stdout.lines().collect();
        for option in *options {
            // Long help: the option on its own line, its sentence on the next.
            let at = lines
                .iter()
                .position(|line| line.trim() == *option)
                .unwrap_or_else(|| panic!("{command}: {option} missing: {}", run.stdout));
            let sentence = lines.get(at + 1).map(|l| l.trim()).unwrap_or("");
            assert!(
                sentence.split_whitespace().count() >= 4,
                "{command} {option}: {sentence:?} explains nothing"
            );
        }
        // `help <command>` says the same.
        let help = env.run(&["help", command], b"");
        assert_eq!(help.stdout, run.stdout, "help {command}");
    }
}

#[test]
fn a_mistyped_command_gets_a_suggestion_and_stays_a_protocol_usage_error() {
    let env = TestEnv::file_store();
    let run = env.run(&["statsu"], b"");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, PROTOCOL_USAGE),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("tip: a similar subcommand exists: 'status'"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("  login "),
        "lists the commands: {run:?}"
    );
}

#[test]
fn a_mistyped_option_gets_a_suggestion_on_stderr_and_exit_2() {
    let env = TestEnv::file_store();
    for (args, suggestion) in [
        (&["export", "--nmae", "x"][..], "'--name'"),
        (&["configure", "--dry-rn"][..], "'--dry-run'"),
        (&["logout", "--al"][..], "'--all'"),
    ] {
        let run = env.run(args, b"");
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (2, ""),
            "{args:?}: {run:?}"
        );
        assert!(
            run.stderr
                .contains(&format!("tip: a similar argument exists: {suggestion}")),
            "{args:?}: {run:?}"
        );
    }
    let run = env.run(&["login", "--project"], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("a value is required for '--project <ID>'"),
        "{run:?}"
    );
    let run = env.run(&["completions", "tcsh"], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("possible values: bash"), "{run:?}");
}

#[test]
fn protocol_commands_keep_their_usage_errors_on_stdout() {
    let env = TestEnv::file_store();
    for args in [
        &["get", "extra"][..],
        &["list", "extra"][..],
        &["version", "--json"][..],
        &["--version", "x"][..],
    ] {
        let run = env.run(args, b"quay.io");
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (1, PROTOCOL_USAGE),
            "{args:?}"
        );
    }
    for flag in ["version", "--version", "-v"] {
        let run = env.run(&[flag], b"");
        assert_eq!(
            (run.code, run.stdout),
            (
                0,
                format!("docker-credential-deepgram {}\n", env!("CARGO_PKG_VERSION"))
            )
        );
    }
}

#[test]
fn help_of_a_protocol_command_exits_0_with_its_help() {
    let env = TestEnv::file_store();
    for command in ["get", "store", "erase", "list", "version"] {
        for flag in ["--help", "-h"] {
            let run = env.run(&[command, flag], b"quay.io");
            assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{command} {flag}");
            assert!(
                run.stdout
                    .contains(&format!("Usage: docker-credential-deepgram {command}")),
                "{command} {flag}: {run:?}"
            );
            assert!(run.stdout.contains("Docker protocol") || command == "version");
            // The same text as `help <command>`, and nothing was read or stored.
            assert_eq!(run.stdout, env.run(&["help", command], b"").stdout);
        }
    }
    assert!(!env.config_dir().join("index.json").exists());
}

#[test]
fn completions_are_valid_scripts_for_each_shell_and_match_dist() {
    let env = TestEnv::file_store();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, check, file) in [
        ("bash", &["-n"][..], "docker-credential-deepgram.bash"),
        ("zsh", &["-n"][..], "_docker-credential-deepgram"),
        (
            "fish",
            &["--no-execute"][..],
            "docker-credential-deepgram.fish",
        ),
    ] {
        let run = env.run(&["completions", shell], b"");
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{shell}");
        assert!(
            run.stdout.contains("docker-credential-deepgram")
                && run.stdout.contains("configure")
                && run.stdout.contains("kubelet-config"),
            "{shell}: {}",
            run.stdout
        );
        let script = env.root.path().join(file);
        std::fs::write(&script, &run.stdout).unwrap();
        let checked = Command::new(shell)
            .args(check)
            .arg(&script)
            .env_clear()
            .env("HOME", env.home())
            .output()
            .unwrap_or_else(|err| panic!("{shell} (installed by test.sh): {err}"));
        assert!(
            checked.status.success(),
            "{shell} rejects the script: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let shipped = std::fs::read_to_string(root.join("dist/completions").join(file)).unwrap();
        assert_eq!(shipped, run.stdout, "dist/completions/{file} is stale");
    }
}

#[test]
fn bash_completion_completes_commands_and_options() {
    let env = TestEnv::file_store();
    let script = env.root.path().join("completion.bash");
    std::fs::write(&script, env.run(&["completions", "bash"], b"").stdout).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
             f=$(complete -p docker-credential-deepgram | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\
             \"$f\" docker-credential-deepgram '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        // Through the function the script registers for the binary's name, as bash calls it.
        let out = Command::new("bash")
            .args(["--norc", "-c", &program])
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = complete("docker-credential-deepgram con");
    assert_eq!(commands.trim(), "configure");
    let options = complete("docker-credential-deepgram configure --kub");
    assert_eq!(
        options.lines().collect::<Vec<_>>(),
        ["--kubelet", "--kubelet-config"]
    );
}

#[test]
fn the_man_page_in_dist_renders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = root.join("dist/docker-credential-deepgram.1");
    // groff is what `man` runs; -z parses and formats without output, -w all warns on bad roff.
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-z", "-ww"])
        .arg(&page)
        .output()
        .expect("groff (man-db's dependency) is installed");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "roff warnings");
}
