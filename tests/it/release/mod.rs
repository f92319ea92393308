//! Tests of the release build as a user gets it: the Debian package (`cargo deb`) and
//! `install.sh`. Both need `cargo build --release`, which `./test.sh` starts beside the test
//! run (so it is usually done by the time these run: see their place in `main.rs`); run alone,
//! the first of them builds it. Either way the build is made once and shared, with the
//! benchmark too.

mod deb;
mod install;
