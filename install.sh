#!/usr/bin/env bash
# Installs docker-credential-deepgram and registers it with Docker and podman/skopeo/buildah.
#
#   ./install.sh                  # build, install on PATH, run `configure`
#   ./install.sh --no-configure   # build and install only
#   ./install.sh --uninstall      # `configure --undo`, then remove the binary
#   PREFIX=/opt/dg ./install.sh   # install to /opt/dg/bin (default: /usr/local/bin as root, else ~/.local/bin)
#
# Idempotent: running it again rebuilds, replaces the binary and leaves the configuration as is.
set -euo pipefail
cd "$(dirname "$0")"
name=docker-credential-deepgram

configure=1
uninstall=0
for arg in "$@"; do
  case "$arg" in
    --no-configure) configure=0 ;;
    --uninstall) uninstall=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (use --no-configure, --uninstall or --help)" >&2; exit 1 ;;
  esac
done

if [ -n "${PREFIX:-}" ]; then
  bin_dir="$PREFIX/bin"
elif [ "$(id -u)" -eq 0 ]; then
  bin_dir=/usr/local/bin
else
  bin_dir="$HOME/.local/bin"
fi
binary="$bin_dir/$name"

if [ "$uninstall" -eq 1 ]; then
  if [ -x "$binary" ]; then
    "$binary" configure --undo || echo "install.sh: configure --undo failed; check your client configs by hand" >&2
    rm -f "$binary"
    echo "install.sh: removed $binary (stored credentials stay in the keychain; erase them with 'docker logout')" >&2
  else
    echo "install.sh: $binary is not installed" >&2
  fi
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found: install Rust 1.89 or newer (https://rustup.rs), then run ./install.sh again" >&2
  exit 1
fi

echo "install.sh: building $name (release)" >&2
cargo build --release --locked --quiet
# Wherever cargo builds (CARGO_TARGET_DIR or build.target-dir may move it from ./target).
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
mkdir -p "$bin_dir"
install -m 0755 "${target_dir:-target}/release/$name" "$binary.new"
mv -f "$binary.new" "$binary"
echo "install.sh: installed $binary ($("$binary" version))" >&2

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "install.sh: warning: $bin_dir is not on PATH; add it, or Docker and podman will not find the helper" >&2 ;;
esac

if [ "$configure" -eq 1 ]; then
  PATH="$bin_dir:$PATH" "$binary" configure
fi

if [ -z "${DEEPGRAM_API_KEY:-}" ]; then
  echo "install.sh: next: export DEEPGRAM_API_KEY=... (or run '$name login'), then pull, e.g.:" >&2
else
  echo "install.sh: DEEPGRAM_API_KEY is set; the first pull creates your Quay credential, e.g.:" >&2
fi
echo "  docker pull quay.io/deepgram/self-hosted-api:latest" >&2
echo "  skopeo inspect docker://quay.io/deepgram/self-hosted-api:latest" >&2
