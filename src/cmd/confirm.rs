//! The confirmation that `revoke`, `rotate` and `prune` ask before deleting anything remotely:
//! `--yes` skips it; on a terminal the question goes to stderr and the answer comes from stdin;
//! without a terminal and without `--yes` the command refuses, naming `--yes`.

use std::io::{self, BufRead, IsTerminal, Write};

use crate::error::{CommandKind, Error};

/// `Ok` when the person agreed (or passed `--yes`) to `what`.
pub fn confirm(command: &str, what: &str, yes: bool) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    if !io::stdin().is_terminal() {
        return Err(Error::command(
            CommandKind::Refused,
            format!(
                "{command}: refusing to {what} without confirmation (stdin is not a terminal): rerun with --yes"
            ),
        ));
    }
    eprint!("{what}? [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer).map_err(|err| {
        Error::command(
            CommandKind::Io,
            format!("{command}: cannot read the answer: {err}"),
        )
    })?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::command(
            CommandKind::Refused,
            format!("{command}: not confirmed; nothing was changed"),
        )),
    }
}
