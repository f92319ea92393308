//! Entry points for the fuzz targets in `fuzz/` that reach parsers private to their modules.
//! Hidden from the docs and never called by the binary.
//!
//! Each wrapper does exactly what the real caller does with the untrusted text, so a fuzz
//! target exercises the production path and nothing more. No I/O; never prints a secret.

use crate::secret::Secret;
use crate::store::{Slot, StoreError, StoredCredential};

/// A keychain item's text as `Store::get` decodes it (`{"username":..,"secret":..}`).
pub fn keychain_item(text: &str) -> Result<StoredCredential, StoreError> {
    crate::store::decode_record(&Secret::new(text), &Slot::Registry("fuzz.invalid".into()))
}
