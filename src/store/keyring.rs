//! The OS keychain backend: Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows. The only file that talks to a keychain crate.
//!
//! Items are `service = docker-credential-deepgram`, `username = <slot name>` (e.g.
//! `registry:quay.io`), labelled `keyring:<slot>@docker-credential-deepgram` — the attributes
//! keyring-rs 4 uses, so its tools and `secret-tool search service docker-credential-deepgram`
//! find them. Errors are mapped here to what a user can act on: unreachable (start a Secret
//! Service or use the file store), locked (unlock it), or another keychain failure.
//!
//! On Linux the Secret Service session is *plain*, not DH-encrypted: the session bus is a
//! per-user socket, and any process able to watch it can simply ask the unlocked collection
//! for the secret, so the handshake (8 ms of a 12 ms `get`) buys nothing.

use super::{BackendKind, SecretBackend, Slot, StoreError};
use crate::secret::Secret;

/// The keychain "service" under which every item of ours lives.
pub const SERVICE: &str = "docker-credential-deepgram";

pub struct KeyringBackend {
    keychain: platform::Keychain,
}

impl KeyringBackend {
    /// Connects to the platform keychain. On Linux this opens the D-Bus session and a Secret
    /// Service session, so a missing bus or provider fails here, in a few milliseconds.
    pub fn connect() -> Result<KeyringBackend, StoreError> {
        Ok(KeyringBackend {
            keychain: platform::Keychain::connect()?,
        })
    }
}

impl SecretBackend for KeyringBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Keyring
    }

    fn read(&self, slot: &Slot) -> Result<Option<Secret>, StoreError> {
        self.keychain.read(&slot.name())
    }

    fn write(&self, slot: &Slot, value: &Secret) -> Result<(), StoreError> {
        self.keychain.write(&slot.name(), value)
    }

    fn remove(&self, slot: &Slot) -> Result<bool, StoreError> {
        self.keychain.remove(&slot.name())
    }
}

fn label(name: &str) -> String {
    format!("keyring:{name}@{SERVICE}")
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

    use super::{SERVICE, StoreError, describe, label};
    use crate::secret::Secret;

    pub struct Keychain {
        service: SecretService<'static>,
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
                .map_err(|_| StoreError::Keychain {
                    detail: format!("the item {name} is not UTF-8: erase it and store it again"),
                })
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

    use super::{SERVICE, StoreError, describe};
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
            self.store.build(SERVICE, name, None).map_err(map_error)
        }

        pub fn read(&self, name: &str) -> Result<Option<Secret>, StoreError> {
            match self.entry(name)?.get_password() {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(err) => Err(map_error(err)),
            }
        }

        pub fn write(&self, name: &str, value: &Secret) -> Result<(), StoreError> {
            self.entry(name)?
                .set_password(value.expose())
                .map_err(map_error)
        }

        pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
            match self.entry(name)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(KeyringError::NoEntry) => Ok(false),
                Err(err) => Err(map_error(err)),
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

    fn map_error(err: KeyringError) -> StoreError {
        match err {
            KeyringError::NoStorageAccess(_) => StoreError::Locked {
                detail: describe(&err),
            },
            KeyringError::PlatformFailure(_) | KeyringError::NoDefaultStore => {
                StoreError::Unavailable {
                    reason: describe(&err),
                }
            }
            // Credential Manager caps a blob at about 2.5 KB (docker-credential-helpers #190).
            KeyringError::TooLong(name, limit) => StoreError::Keychain {
                detail: format!("the {name} is longer than this keychain allows ({limit})"),
            },
            other => StoreError::Keychain {
                detail: describe(&other),
            },
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
