//! Durations as config values and environment variables spell them (`30s`, `1h30m`, `1.5s`).
//!
//! Invariants: no panic; nothing longer than the maximum is accepted; what `format` writes for
//! a parsed duration (the kubelet's `cacheDuration`) parses back to the same whole milliseconds.
#![no_main]

use std::time::Duration;

use docker_credential_deepgram::config::MAX_KUBELET_CACHE_DURATION as MAX;
use docker_credential_deepgram::duration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = duration::parse(text, MAX) else {
        return;
    };
    assert!(parsed <= MAX, "{text:?} -> {parsed:?}");
    let shown = duration::format(parsed);
    let back = duration::parse(&shown, MAX).unwrap_or_else(|err| panic!("{text:?} -> {shown:?}: {err}"));
    let millis = Duration::new(parsed.as_secs(), parsed.subsec_millis() * 1_000_000);
    assert_eq!(back, millis, "{text:?} -> {shown:?}");
});
