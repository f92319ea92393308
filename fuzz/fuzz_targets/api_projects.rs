//! The answer to `GET /v1/projects`.
//!
//! Invariants: no panic; every project returned is an entry of the `projects` array with a
//! string `project_id`, in order; entries without one are skipped, not errors.
#![no_main]

use docker_credential_deepgram::deepgram;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(projects) = deepgram::parse_projects(&value) else {
        assert!(!value["projects"].is_array());
        return;
    };
    let expected: Vec<&str> = value["projects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["project_id"].as_str())
        .collect();
    let got: Vec<&str> = projects.iter().map(|p| p.project_id.as_str()).collect();
    assert_eq!(got, expected);
});
