//! Non-secret random tags: the per-install id, the per-create marker in a credential comment,
//! and temp-file suffixes.
//!
//! They only need to differ between installs, creates and writers, so std's randomly keyed
//! hasher (seeded from the OS per process), the clock, the pid and a counter are enough.
//! Never use these for a secret.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `chars` lowercase hex digits.
pub fn random_hex(chars: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(chars + 16);
    while out.len() < chars {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.write_u32(std::process::id());
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_and_have_the_length() {
        let a = random_hex(12);
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(12));
        assert_eq!(random_hex(40).len(), 40);
    }
}
