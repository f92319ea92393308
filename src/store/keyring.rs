//! The OS keychain backend: Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows. The only file that talks to a keychain crate.
//!
//! Items are `service = docker-credential-deepgram`, `username = <item name>`, labelled
//! `keyring:<item name>@docker-credential-deepgram` — the attributes keyring-rs 4 uses, so its
//! tools and `secret-tool search service docker-credential-deepgram` find them. A registry
//! item's name carries the install it belongs to (`registry:quay.io [dcd:<install id>]`), so
//! two config dirs on one keychain never see or erase each other's credentials; the API key
//! saved by `login` is one per keychain (`deepgram-api-key`). Registry items an earlier version
//! stored under the bare slot name are still read and removed ([`SecretBackend::read_legacy`];
//! `Store` answers them only when its index names them). Errors are mapped here to what a user can act on: unreachable (start a Secret
//! Service or use the file store), locked (unlock it), or another keychain failure.
//!
//! On Linux the Secret Service session is *plain*, not DH-encrypted: the session bus is a
//! per-user socket, and any process able to watch it can simply ask the unlocked collection
//! for the secret, so the handshake (8 ms of a 12 ms `get`) buys nothing.
//!
//! On Windows the item's target name is `<slot>.docker-credential-deepgram` and the value is
//! stored as UTF-16, as keyring-rs does. Credential Manager's size limits are checked here
//! before the call ([`credential_manager`]), so an oversized credential is an error that names
//! it and the way out; those checks are plain functions, compiled and tested on every target.

use super::{BackendKind, SecretBackend, Slot, StoreError};
use crate::secret::Secret;

/// The keychain "service" under which every item of ours lives.
pub const SERVICE: &str = crate::NAME;

pub struct KeyringBackend {
    keychain: platform::Keychain,
    /// The install id registry items are named with; none: bare slot names.
    install: Option<String>,
}

impl KeyringBackend {
    /// Connects to the platform keychain. On Linux this opens the D-Bus session and a Secret
    /// Service session, so a missing bus or provider fails here, in a few milliseconds.
    pub fn connect() -> Result<KeyringBackend, StoreError> {
        Ok(KeyringBackend {
            keychain: platform::Keychain::connect()?,
            install: None,
        })
    }

    /// Registry items named for `install` (see the module header).
    pub fn scoped(mut self, install: Option<String>) -> KeyringBackend {
        self.install = install;
        self
    }

    /// The keychain's name for `slot`.
    fn item_name(&self, slot: &Slot) -> String {
        match (slot, &self.install) {
            (Slot::Registry(_), Some(install)) => format!("{} [dcd:{install}]", slot.name()),
            _ => slot.name(),
        }
    }
}

impl SecretBackend for KeyringBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Keyring
    }

    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        self.keychain.read(&self.item_name(slot))
    }

    fn write(&self, slot: &Slot, value: &Secret) -> Result<(), StoreError> {
        self.keychain.write(&self.item_name(slot), value)
    }

    fn remove(&self, slot: &Slot) -> Result<bool, StoreError> {
        self.keychain.remove(&self.item_name(slot))
    }

    fn read_legacy(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        if self.item_name(slot) == slot.name() {
            return Ok(None);
        }
        self.keychain.read(&slot.name())
    }

    fn remove_legacy(&self, slot: &Slot) -> Result<bool, StoreError> {
        if self.item_name(slot) == slot.name() {
            return Ok(false);
        }
        self.keychain.remove(&slot.name())
    }
}

/// What to do when no keychain answers, for the error message of this platform.
#[cfg(target_os = "linux")]
pub const UNAVAILABLE_FIX: &str = "start a Secret Service (e.g. gnome-keyring)";
#[cfg(target_os = "macos")]
pub const UNAVAILABLE_FIX: &str = "run it in a logged-in user session";
#[cfg(target_os = "windows")]
pub const UNAVAILABLE_FIX: &str =
    "run it as a logged-on user (Credential Manager needs a user profile)";
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const UNAVAILABLE_FIX: &str =
    "this platform has no supported keychain: drop `store = \"keyring\"`";

/// What to do when the keychain refuses access, for the error message of this platform. On
/// Linux, headless: `--replace` hands the session over to a new gnome-keyring that unlocks the
/// login keyring with the password read on stdin (a plain `--unlock` starts a second daemon
/// beside the running one and leaves the keyring locked); the password never reaches argv or
/// the shell history.
#[cfg(target_os = "linux")]
pub const LOCKED_FIX: &str = "unlock it: on a desktop, log in or unlock the Login keyring (Passwords and Keys); headless (SSH), in the same session, type the keyring's password (usually your login password) to `read -rs pw; printf '%s' \"$pw\" | gnome-keyring-daemon --replace --unlock --components=secrets; unset pw`";
#[cfg(target_os = "macos")]
pub const LOCKED_FIX: &str = "unlock it (`security unlock-keychain`)";
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub const LOCKED_FIX: &str =
    "run it as a logged-on user (Credential Manager needs a logon session)";

/// An item that holds bytes which are not text: not ours, or damaged.
fn not_text(name: &str) -> StoreError {
    StoreError::Keychain {
        detail: format!("the item {name} is not text: erase it and store it again"),
    }
}

/// The error and its causes on one line.
fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(target_os = "linux")]
mod platform {
    use std::collections::HashMap;

    use secret_service::blocking::SecretService;
    use secret_service::{EncryptionType, Error as SsError};

    use super::{SERVICE, StoreError, describe, not_text};
    use crate::secret::Secret;

    pub struct Keychain {
        service: SecretService<'static>,
    }

    fn label(name: &str) -> String {
        format!("keyring:{name}@{SERVICE}")
    }

    /// Searches per read, at most (see [`Keychain::read`]).
    const READ_ATTEMPTS: u32 = 3;

    impl Keychain {
        pub fn connect() -> Result<Keychain, StoreError> {
            SecretService::connect(EncryptionType::Plain)
                .map(|service| Keychain { service })
                .map_err(|err| StoreError::Unavailable {
                    reason: describe(&err),
                })
        }

        pub fn read(&self, name: &str) -> Result<Option<Secret>, StoreError> {
            // An item found by the search can be deleted before its secret is read, when
            // another process replaces or erases it (a credential replaced after it was
            // deleted remotely): the search is repeated, a bounded number of times.
            let mut attempt = 1;
            let bytes = loop {
                let found = self
                    .service
                    .search_items(attributes(name))
                    .map_err(map_error)?;
                let item = match (found.unlocked.first(), found.locked.first()) {
                    (Some(item), _) => item,
                    (None, Some(item)) => {
                        // Asks the keychain to unlock; headless, that prompt fails at once.
                        item.unlock().map_err(map_error)?;
                        item
                    }
                    (None, None) => return Ok(None),
                };
                match item.get_secret() {
                    Ok(bytes) => break bytes,
                    Err(err) if attempt < READ_ATTEMPTS => {
                        crate::debug!(
                            "the item {name} changed while read ({err}); searching again"
                        );
                        attempt += 1;
                    }
                    Err(err) => return Err(map_error(err)),
                }
            };
            String::from_utf8(bytes)
                .map(|text| Some(Secret::new(text)))
                .map_err(|_| not_text(name))
        }

        pub fn write(&self, name: &str, value: &Secret) -> Result<(), StoreError> {
            let collection = self.service.get_default_collection().map_err(map_error)?;
            collection.ensure_unlocked().map_err(map_error)?;
            collection
                .create_item(
                    &label(name),
                    attributes(name),
                    value.expose().as_bytes(),
                    true, // replace the item with the same attributes
                    "text/plain",
                )
                .map(drop)
                .map_err(map_error)
        }

        pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
            let found = self
                .service
                .search_items(attributes(name))
                .map_err(map_error)?;
            let mut removed = false;
            for item in found.unlocked.iter().chain(found.locked.iter()) {
                item.ensure_unlocked().map_err(map_error)?;
                item.delete().map_err(map_error)?;
                removed = true;
            }
            Ok(removed)
        }
    }

    fn attributes(name: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", name)])
    }

    fn map_error(err: SsError) -> StoreError {
        match err {
            SsError::Locked | SsError::NoResult | SsError::Prompt | SsError::PromptDisconnected => {
                StoreError::Locked {
                    detail: describe(&err),
                }
            }
            SsError::Unavailable => StoreError::Unavailable {
                reason: describe(&err),
            },
            other => StoreError::Keychain {
                detail: describe(&other),
            },
        }
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod platform {
    use std::sync::Arc;

    use keyring_core::{CredentialStore, Entry, Error as KeyringError};

    use super::{SERVICE, StoreError, describe, not_text};
    use crate::secret::Secret;

    pub struct Keychain {
        store: Arc<CredentialStore>,
    }

    impl Keychain {
        pub fn connect() -> Result<Keychain, StoreError> {
            native_store()
                .map(|store| Keychain { store })
                .map_err(|err| StoreError::Unavailable {
                    reason: describe(&err),
                })
        }

        fn entry(&self, name: &str) -> Result<Entry, StoreError> {
            #[cfg(target_os = "windows")]
            super::credential_manager::check_name(name)?;
            self.store
                .build(SERVICE, name, None)
                .map_err(|err| map_error(name, err))
        }

        pub fn read(&self, name: &str) -> Result<Option<Secret>, StoreError> {
            match self.entry(name)?.get_password() {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(err) => Err(map_error(name, err)),
            }
        }

        pub fn write(&self, name: &str, value: &Secret) -> Result<(), StoreError> {
            #[cfg(target_os = "windows")]
            super::credential_manager::check_value(name, value.expose())?;
            self.entry(name)?
                .set_password(value.expose())
                .map_err(|err| map_error(name, err))
        }

        pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
            match self.entry(name)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(KeyringError::NoEntry) => Ok(false),
                Err(err) => Err(map_error(name, err)),
            }
        }
    }

    #[cfg(target_os = "macos")]
    fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(apple_native_keyring_store::keychain::Store::new()?)
    }

    #[cfg(target_os = "windows")]
    fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(windows_native_keyring_store::Store::new()?)
    }

    fn map_error(name: &str, err: KeyringError) -> StoreError {
        match err {
            KeyringError::NoStorageAccess(_) => StoreError::Locked {
                detail: describe(&err),
            },
            KeyringError::PlatformFailure(_) | KeyringError::NoDefaultStore => {
                StoreError::Unavailable {
                    reason: describe(&err),
                }
            }
            // Both carry the raw bytes: never shown.
            KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => not_text(name),
            // Checked before the call on Windows; kept for a limit the crate knows and we don't.
            KeyringError::TooLong(what, limit) => StoreError::Keychain {
                detail: format!(
                    "the {what} of the item {name} is longer than this keychain allows ({limit}): set {}=file to keep it in the file store",
                    crate::env::STORE
                ),
            },
            other => StoreError::Keychain {
                detail: describe(&other),
            },
        }
    }
}

/// Windows Credential Manager's limits (`wincred.h`), enforced by windows-native-keyring-store
/// with a bare "too long". Checked first so the error names the item, its size and the fix.
/// Plain functions, compiled on every target so that their tests run on Linux CI (public, so
/// never dead code where only Windows calls them).
pub mod credential_manager {
    use super::StoreError;
    use crate::env;

    /// `CRED_MAX_CREDENTIAL_BLOB_SIZE`: 5 × 512 bytes for the secret blob.
    pub const MAX_BLOB_BYTES: usize = 5 * 512;
    /// `CRED_MAX_USERNAME_LENGTH`: the item's user name (our slot name). The crate compares
    /// the UTF-8 length, so that is what is checked here.
    pub const MAX_NAME_BYTES: usize = 513;

    /// The size of `value` in Credential Manager: the crate stores it as UTF-16, two bytes per
    /// code unit (four for a character outside the Basic Multilingual Plane).
    pub fn blob_bytes(value: &str) -> usize {
        value.encode_utf16().count() * 2
    }

    /// Refuses a value Credential Manager would not take.
    pub fn check_value(name: &str, value: &str) -> Result<(), StoreError> {
        let bytes = blob_bytes(value);
        if bytes > MAX_BLOB_BYTES {
            return Err(StoreError::Keychain {
                detail: format!(
                    "the credential for {name} is {bytes} bytes as UTF-16, more than the {MAX_BLOB_BYTES} that Windows Credential Manager holds: set {}=file to keep it in the file store",
                    env::STORE
                ),
            });
        }
        Ok(())
    }

    /// Refuses an item name Credential Manager would not take (a very long server name).
    pub fn check_name(name: &str) -> Result<(), StoreError> {
        if name.len() > MAX_NAME_BYTES {
            return Err(StoreError::Keychain {
                detail: format!(
                    "the item name {}… is {} bytes, more than the {MAX_NAME_BYTES} that Windows Credential Manager allows: use a shorter server name, or set {}=file",
                    prefix(name, 40),
                    name.len(),
                    env::STORE
                ),
            });
        }
        Ok(())
    }

    /// The first `chars` characters of `text`.
    fn prefix(text: &str, chars: usize) -> &str {
        match text.char_indices().nth(chars) {
            Some((end, _)) => &text[..end],
            None => text,
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod platform {
    use super::StoreError;
    use crate::secret::Secret;

    pub struct Keychain;

    impl Keychain {
        pub fn connect() -> Result<Keychain, StoreError> {
            Err(StoreError::Unavailable {
                reason: "no keychain support on this platform".into(),
            })
        }
        pub fn read(&self, _: &str) -> Result<Option<Secret>, StoreError> {
            unreachable!("never connected")
        }
        pub fn write(&self, _: &str, _: &Secret) -> Result<(), StoreError> {
            unreachable!("never connected")
        }
        pub fn remove(&self, _: &str) -> Result<bool, StoreError> {
            unreachable!("never connected")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::credential_manager::{MAX_BLOB_BYTES, MAX_NAME_BYTES, blob_bytes, check_name};
    use super::{StoreError, credential_manager, not_text};

    fn refusal(result: Result<(), StoreError>) -> String {
        match result {
            Err(StoreError::Keychain { detail }) => detail,
            Err(other) => panic!("wrong error: {other}"),
            Ok(()) => panic!("accepted"),
        }
    }

    #[test]
    fn credential_manager_counts_utf16_bytes_not_utf8() {
        assert_eq!(blob_bytes(""), 0);
        assert_eq!(blob_bytes("abc"), 6);
        // One UTF-16 unit each, though three bytes in UTF-8.
        assert_eq!(blob_bytes("界界"), 4);
        // Outside the Basic Multilingual Plane: a surrogate pair, four bytes.
        assert_eq!(blob_bytes("😀"), 4);
    }

    #[test]
    fn credential_manager_takes_a_quay_robot_record() {
        let record = format!(
            r#"{{"username":"deepgram+selfhosted_0123456789abcdef","secret":"{}"}}"#,
            "A".repeat(64)
        );
        credential_manager::check_value("registry:quay.io", &record).unwrap();
    }

    #[test]
    fn credential_manager_cap_is_exactly_2560_bytes() {
        assert_eq!(MAX_BLOB_BYTES, 2560);
        credential_manager::check_value("registry:quay.io", &"a".repeat(1280)).unwrap();
        refusal(credential_manager::check_value(
            "registry:quay.io",
            &"a".repeat(1281),
        ));
        // 3840 bytes of UTF-8 are 2560 of UTF-16: they fit.
        credential_manager::check_value("registry:quay.io", &"界".repeat(1280)).unwrap();
        credential_manager::check_value("registry:quay.io", &"😀".repeat(640)).unwrap();
        refusal(credential_manager::check_value(
            "registry:quay.io",
            &"😀".repeat(641),
        ));
    }

    #[test]
    fn oversized_credential_names_item_size_and_fix_but_not_the_secret() {
        let secret = format!("s3cr3t{}", "x".repeat(3000));
        let detail = refusal(credential_manager::check_value("registry:quay.io", &secret));
        assert_eq!(
            detail,
            "the credential for registry:quay.io is 6012 bytes as UTF-16, more than the 2560 that Windows Credential Manager holds: set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file to keep it in the file store"
        );
        assert!(!detail.contains("s3cr3t"));
    }

    #[test]
    fn credential_manager_name_cap_is_513_bytes() {
        let name = format!("registry:{}", "h".repeat(MAX_NAME_BYTES - 9));
        assert_eq!(name.len(), 513);
        check_name(&name).unwrap();
        let long = format!("{name}h");
        let detail = refusal(check_name(&long));
        assert!(detail.starts_with("the item name registry:hhh"), "{detail}");
        assert!(
            detail.contains("is 514 bytes, more than the 513"),
            "{detail}"
        );
        assert!(detail.ends_with("set DOCKER_CREDENTIAL_DEEPGRAM_STORE=file"));
    }

    #[test]
    fn long_non_ascii_name_is_shortened_on_a_character_boundary() {
        let name = format!("registry:{}", "é".repeat(300));
        let detail = refusal(check_name(&name));
        assert!(detail.starts_with(&format!("the item name registry:{}…", "é".repeat(31))));
    }

    #[test]
    fn an_item_that_is_not_text_is_named() {
        assert_eq!(
            not_text("registry:quay.io").to_string(),
            "keychain error: the item registry:quay.io is not text: erase it and store it again"
        );
    }
}
