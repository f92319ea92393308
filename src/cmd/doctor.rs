//! `doctor [--json] [--offline] [--registry R] [--kubelet-config PATH]`: runs every check and
//! prints the report on stdout; exit 1 (with one line on stderr) when a check failed.

use std::io::Write;
use std::path::PathBuf;

use super::Options;
use crate::doctor::{self, Context, render};
use crate::error::Error;

pub fn run(args: &[String], out: &mut impl Write) -> Result<(), Error> {
    let options = Options::parse(
        "doctor",
        args,
        &["registry", "kubelet-config"],
        &["json", "offline"],
    )?;
    let doctor_options = doctor::Options {
        offline: options.flag("offline"),
        registry: options.value("registry").map(str::to_string),
        kubelet_config: options.value("kubelet-config").map(PathBuf::from),
    };
    let checks = doctor::run(&doctor_options, &Context::from_env());
    let text = if options.flag("json") {
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
        Err(Error::Command(format!(
            "doctor: {} check(s) failed ({}): see the fix under each",
            failed.len(),
            failed.join(", ")
        )))
    }
}
