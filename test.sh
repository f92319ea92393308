#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (Debian packages, as root), then
# `cargo test --locked`. The tests start their own private D-Bus sessions with gnome-keyring,
# a local docker-registry, a private Docker engine (as root, in a temp dir) and a fake Deepgram
# API, all on loopback; nothing else is touched.
#
#   ./test.sh              # everything
#   ./test.sh provision::    # extra arguments go to `cargo test`: here tests/it/provision.rs only
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the tests drive: a real Secret Service, the docker CLI's peers, a registry,
# and a private Docker engine (docker.io brings dockerd, containerd and runc; apparmor, which
# its containers need where the kernel enables AppArmor, as Debian's does; busybox-static for a
# runnable test image; procps for `kill`, which stops the engine by pid; Wine with the
# mingw-w64 cross compiler for the Windows build (tests/it/cross/windows.rs); zsh and fish to check the
# completion scripts; groff and man-db, which check the man page).
packages=(dbus-daemon dbus-x11 gnome-keyring libsecret-tools skopeo docker-registry apache2-utils
  golang-docker-credential-helpers hyperfine podman docker.io apparmor busybox-static procps
  wine wine64 gcc-mingw-w64-x86-64 zsh fish groff-base man-db)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ! command -v kubectl >/dev/null 2>&1; then missing+=(kubernetes-client); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing Debian packages: ${missing[*]}" >&2
    echo "test.sh: run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "test.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo not found: install Rust 1.89 or newer (https://rustup.rs)" >&2
  exit 1
fi

# tests/it/cross/windows.rs cross-builds for Windows and runs the result under Wine.
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx x86_64-pc-windows-gnu ||
    rustup target add x86_64-pc-windows-gnu >/dev/null
fi
# tests/it/release/deb.rs builds the Debian package with cargo-deb.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "test.sh: installing cargo-deb (cargo install cargo-deb --locked)" >&2
  cargo install cargo-deb --locked
fi

# No display: a keychain prompt must fail at once rather than wait for a click.
unset DISPLAY WAYLAND_DISPLAY

if [ $# -gt 0 ]; then
  exec cargo test --locked "$@"
fi

# The whole suite: the release build that tests/it/release (`cargo deb`, `install.sh`) and CI's
# benchmark use runs beside the test build and the tests, which often wait on their processes;
# the release tests come last and find it built (cargo locks target/debug and target/release
# separately). Its environment is the one `install.sh` gives cargo, so all of them share this
# one build.
release_log=$(mktemp)
cargo build --release --locked >"$release_log" 2>&1 &
release_build=$!
trap 'kill "$release_build" 2>/dev/null || true; rm -f "$release_log"' EXIT
status=0
cargo test --locked || status=$?
if ! wait "$release_build"; then
  echo "test.sh: the release build beside the tests failed:" >&2
  tail -n 20 "$release_log" >&2
  status=1
fi
exit "$status"
