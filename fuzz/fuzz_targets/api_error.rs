//! Deepgram API error bodies (legacy `err_code`/`err_msg`, modern `category`/`message`/
//! `details`, or plain text), as they end up in the one-line errors users see.
//!
//! Invariants: no panic; the detail prints on one line, and each part is bounded.
#![no_main]

use docker_credential_deepgram::deepgram;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The client reads bodies as UTF-8 text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let detail = deepgram::parse_detail(text);
    let shown = detail.to_string();
    assert!(!shown.contains(['\n', '\r']), "{shown:?}");
    for part in [&detail.code, &detail.request_id].into_iter().flatten() {
        assert!(part.chars().count() <= 301, "{part:?}");
    }
    if let Some(message) = &detail.message {
        // message and details, each cut at 300 characters, joined by a space
        assert!(message.chars().count() <= 603, "{message:?}");
    }
});
