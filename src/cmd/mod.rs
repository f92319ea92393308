//! The human-facing commands (`login`, `logout`, `status`, `configure`, `export`, `kubelet`):
//! each file parses its own options, does its job through the library modules, and writes its
//! own output. Errors are returned to `app`, which puts them on stderr.

pub mod configure;
pub mod confirm;
pub mod doctor;
pub mod export;
pub mod kubelet;
pub mod login;
pub mod prune;
pub mod revoke;
pub mod rotate;
pub mod status;

use std::path::Path;

use crate::env;
use crate::error::Error;

/// The command that saves the API key in a node's state directory (file store), as
/// `configure --kubelet` prints it and the kubelet's no-key error repeats it.
pub fn node_login_command(state_dir: &Path, binary: &str) -> String {
    format!(
        "{}={} {}=file {binary} login < key.txt",
        env::CONFIG_DIR,
        state_dir.display(),
        env::STORE
    )
}

/// Options as `--name value`, `--name=value` or `--flag`; anything unknown is an error that
/// names it and lists what the command accepts.
pub struct Options {
    command: &'static str,
    pairs: Vec<(String, Option<String>)>,
}

impl Options {
    /// `valued` take a value, `flags` do not.
    pub fn parse(
        command: &'static str,
        args: &[String],
        valued: &[&str],
        flags: &[&str],
    ) -> Result<Options, Error> {
        let accepted = || {
            valued
                .iter()
                .map(|v| format!("--{v} <value>"))
                .chain(flags.iter().map(|f| format!("--{f}")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut pairs = Vec::new();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if arg == "--help" || arg == "-h" {
                let usage: String = valued
                    .iter()
                    .map(|v| format!(" [--{v} <value>]"))
                    .chain(flags.iter().map(|f| format!(" [--{f}]")))
                    .collect();
                return Err(Error::Help(format!(
                    "Usage: docker-credential-deepgram {command}{usage}\nSee the README for what each option does."
                )));
            }
            let Some(name) = arg.strip_prefix("--") else {
                return Err(Error::Command(format!(
                    "{command}: unexpected argument {arg:?}; accepted: {}",
                    accepted()
                )));
            };
            let (name, inline) = match name.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (name, None),
            };
            if valued.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => rest.next().cloned().ok_or_else(|| {
                        Error::Command(format!("{command}: --{name} needs a value"))
                    })?,
                };
                pairs.push((name.to_string(), Some(value)));
            } else if flags.contains(&name) && inline.is_none() {
                pairs.push((name.to_string(), None));
            } else {
                return Err(Error::Command(format!(
                    "{command}: unknown option --{name}; accepted: {}",
                    accepted()
                )));
            }
        }
        Ok(Options { command, pairs })
    }

    pub fn flag(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The last value given for `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn command(&self) -> &'static str {
        self.command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_and_flags_in_both_spellings() {
        let options = Options::parse(
            "export",
            &args(&["--name", "a", "--namespace=b", "--force"]),
            &["name", "namespace"],
            &["force"],
        )
        .unwrap();
        assert_eq!(options.value("name"), Some("a"));
        assert_eq!(options.value("namespace"), Some("b"));
        assert!(options.flag("force"));
        assert!(!options.flag("dry-run"));
    }

    #[test]
    fn unknown_and_incomplete_options_are_named() {
        let err = Options::parse("export", &args(&["--nmae", "a"]), &["name"], &["force"])
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "export: unknown option --nmae; accepted: --name <value>, --force"
        );
        let err = Options::parse("export", &args(&["--name"]), &["name"], &[])
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "export: --name needs a value");
        let err = Options::parse("export", &args(&["stray"]), &[], &["force"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("export: unexpected argument \"stray\""),
            "{err}"
        );
    }

    #[test]
    fn help_is_a_usage_line_not_an_error() {
        let Err(Error::Help(text)) =
            Options::parse("export", &args(&["--help"]), &["name"], &["force"])
        else {
            panic!("--help is not help")
        };
        assert_eq!(
            text,
            "Usage: docker-credential-deepgram export [--name <value>] [--force]\nSee the README for what each option does."
        );
    }
}
