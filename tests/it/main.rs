//! Every integration test, in one binary: the harness (`support`: a private D-Bus session with
//! gnome-keyring, the loopback fake Deepgram API, a real `docker-registry`, a private Docker
//! engine, a TLS fake, a CONNECT proxy) is compiled and linked once, and libtest runs the
//! modules' tests side by side. Each module names what it shows in its own header.
//!
//! Module order is run order (libtest starts tests in name order, two at a time on two cores):
//! `cross` (the Windows build under Wine: a cross build and a Wine prefix, the slowest fixture)
//! starts early, beside the release build `./test.sh` starts, and `release` (the Debian package
//! and `install.sh`, which need that release build) comes last, so that neither fixture's wait
//! holds the other tests up.

mod support;

mod advice;
mod cli;
mod clients;
mod config;
mod configure;
mod crash;
mod cross;
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
