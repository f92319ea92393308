//! `doctor [--json] [--offline] [--registry R] [--kubelet-config PATH]`: runs every check and
//! prints the report on stdout; exit 1 (with one line on stderr) when a check failed.

use std::io::Write;

use crate::cli::DoctorArgs;
use crate::doctor::{self, Context, render};
use crate::error::{CommandKind, Error};

pub fn run(args: &DoctorArgs, out: &mut impl Write) -> Result<(), Error> {
    let doctor_options = doctor::Options {
        offline: args.offline,
        registry: args.registry.clone(),
        kubelet_config: args.kubelet_config.clone(),
    };
    let checks = doctor::run(&doctor_options, &Context::from_env());
    let text = if args.json {
        render::json(&checks)
    } else {
        render::lines(&checks)
    };
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    if render::healthy(&checks) {
        Ok(())
    } else {
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.status == doctor::Status::Fail)
            .map(|c| c.name.as_str())
            .collect();
        Err(Error::command(
            CommandKind::Checks,
            format!(
                "doctor: {} check(s) failed ({}): see the fix under each",
                failed.len(),
                failed.join(", ")
            ),
        ))
    }
}
