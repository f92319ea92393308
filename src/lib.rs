//! docker-credential-deepgram: a Docker credential helper that provisions Deepgram self-hosted
//! distribution credentials on first use and keeps them in the OS keychain.
//!
//! `main.rs` only calls [`app::main`]. The modules each own one job; the README's
//! Development section ("Layout") is the map.

/// The binary's name: what clients run (`docker-credential-<helper>`), the keychain service,
/// the config directory's name and the prefix of every message.
pub const NAME: &str = "docker-credential-deepgram";

pub mod app;
pub mod calllog;
pub mod cli;
pub mod client_config;
pub mod cmd;
pub mod config;
pub mod config_toml_edit;
pub mod credential;
pub mod deepgram;
pub mod doctor;
pub mod duration;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod export;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod hygiene;
pub mod kubelet;
pub mod lock;
pub mod log;
pub mod outage;
pub mod process;
pub mod protocol;
pub mod registry;
pub mod registry_auth;
pub mod rfc3339;
pub mod sanitize;
pub mod secret;
pub mod store;
pub mod tag;
pub mod tls;
