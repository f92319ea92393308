//! Prints a doctor report: one line per check (fix and extra detail lines indented under it)
//! or exactly one JSON object `{"ok", "checks": [{"name", "status", "detail", "fix"?}]}`.
//! Formats only what the checks hold; never adds anything.

use serde_json::{Value, json};

use super::{Check, Status};

/// True when no check failed.
pub fn healthy(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == Status::Fail)
}

pub fn json(checks: &[Check]) -> String {
    let list: Vec<Value> = checks
        .iter()
        .map(|check| {
            let mut value = json!({
                "name": check.name,
                "status": check.status.as_str(),
                "detail": check.detail,
            });
            if let Some(fix) = &check.fix {
                value["fix"] = json!(fix);
            }
            value
        })
        .collect();
    format!("{}\n", json!({"ok": healthy(checks), "checks": list}))
}

pub fn lines(checks: &[Check]) -> String {
    let mut text = String::new();
    for check in checks {
        let mut detail = check.detail.lines();
        text.push_str(&format!(
            "{:<4} {}: {}\n",
            check.status.as_str(),
            check.name,
            detail.next().unwrap_or("")
        ));
        for more in detail {
            text.push_str(&format!("       {more}\n"));
        }
        if let Some(fix) = &check.fix {
            text.push_str(&format!("     fix: {fix}\n"));
        }
    }
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    text.push_str(&format!(
        "{} checks: {} ok, {} warn, {} fail, {} skip\n",
        checks.len(),
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skip)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Check> {
        vec![
            Check::ok("binary", "docker-credential-deepgram 0.1.0 at /bin/x"),
            Check::fail("path", "not on PATH", "install it"),
            Check::skip("kubelet", "no config"),
        ]
    }

    #[test]
    fn json_is_one_object_with_fix_only_when_given() {
        assert_eq!(
            json(&sample()),
            "{\"ok\":false,\"checks\":[{\"name\":\"binary\",\"status\":\"ok\",\"detail\":\"docker-credential-deepgram 0.1.0 at /bin/x\"},{\"name\":\"path\",\"status\":\"fail\",\"detail\":\"not on PATH\",\"fix\":\"install it\"},{\"name\":\"kubelet\",\"status\":\"skip\",\"detail\":\"no config\"}]}\n"
        );
        assert!(healthy(&sample()[..1]));
    }

    #[test]
    fn lines_put_the_fix_under_its_check() {
        assert_eq!(
            lines(&sample()),
            "ok   binary: docker-credential-deepgram 0.1.0 at /bin/x\nfail path: not on PATH\n     fix: install it\nskip kubelet: no config\n3 checks: 1 ok, 0 warn, 1 fail, 1 skip\n"
        );
    }
}
