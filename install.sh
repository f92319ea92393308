#!/usr/bin/env bash
# Builds docker-credential-deepgram in release mode and installs it on PATH, then runs it.
#
#   ./install.sh                 # /usr/local/bin as root, else ~/.local/bin
#   PREFIX=/opt/dg ./install.sh  # installs to /opt/dg/bin
#
# Idempotent: running it again rebuilds and replaces the binary.
set -euo pipefail
cd "$(dirname "$0")"
name=docker-credential-deepgram

if [ -n "${PREFIX:-}" ]; then
  bin_dir="$PREFIX/bin"
elif [ "$(id -u)" -eq 0 ]; then
  bin_dir=/usr/local/bin
else
  bin_dir="$HOME/.local/bin"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found: install Rust 1.89 or newer (https://rustup.rs), then run ./install.sh again" >&2
  exit 1
fi

echo "install.sh: building $name (release)" >&2
cargo build --release --locked --quiet
mkdir -p "$bin_dir"
install -m 0755 "target/release/$name" "$bin_dir/$name.new"
mv -f "$bin_dir/$name.new" "$bin_dir/$name"
echo "install.sh: installed $bin_dir/$name ($("$bin_dir/$name" version))" >&2

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "install.sh: warning: $bin_dir is not on PATH; Docker and podman will not find the helper until it is" >&2 ;;
esac

cat <<EOT

Next: tell Docker to use the helper for quay.io. In ~/.docker/config.json:

  { "credHelpers": { "quay.io": "deepgram" } }

and the same "credHelpers" entry in ~/.config/containers/auth.json for podman, skopeo and buildah.
Then give it a Deepgram API key (export DEEPGRAM_API_KEY=... or: $name login), and pull:

  docker pull quay.io/deepgram/self-hosted-api:latest
EOT
