//! Every integration test, in one binary: the harness (`support`: a private D-Bus session with
//! gnome-keyring, the loopback fake Deepgram API, a real `docker-registry`, a private Docker
//! engine, a TLS fake, a CONNECT proxy) is compiled and linked once, and libtest runs the
//! modules' tests side by side. Each module names what it shows in its own header.
//!
//! Module order is run order (libtest starts tests in name order): `release` (the Debian
//! package and `install.sh`, which wait for the release build) and `windows` (which boots one
//! Wine prefix for all its tests) come last, so the quick tests run while they build.

mod support;

mod advice;
mod cli;
mod clients;
mod config;
mod configure;
mod crash;
mod doctor;
mod engine;
mod fake_api;
mod first_run;
mod fleet;
mod hygiene;
mod keychain;
mod kubelet;
mod lifecycle;
mod network;
mod parsers;
mod prompts;
mod protocol;
mod provision;
mod release;
mod store;
mod windows;
