//! Other platforms' builds, run for real here: the Windows build under Wine. These tests come
//! early in run order (see `main.rs`): the cross build and booting Wine take the longest of
//! any fixture, so they run while the quick tests and the release build share the CPU.

mod windows;
