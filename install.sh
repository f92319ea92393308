#!/usr/bin/env bash
# Installs docker-credential-deepgram and registers it with Docker and podman/skopeo/buildah.
#
#   ./install.sh                       # build, install on PATH, run `configure`; with
#                                      # DEEPGRAM_API_KEY set, also save the key (`login`)
#   ./install.sh --no-configure        # build and install only
#   ./install.sh --uninstall           # `configure --undo`, forget the saved API key, remove the binary
#   ./install.sh --uninstall --purge   # the same, and erase every stored credential first
#   PREFIX=/opt/dg ./install.sh        # install to /opt/dg/bin (default: /usr/local/bin as root, else ~/.local/bin)
#
# Idempotent: running it again rebuilds, replaces the binary and leaves the configuration as is.
set -euo pipefail
cd "$(dirname "$0")"
name=docker-credential-deepgram

configure=1
uninstall=0
purge=0
for arg in "$@"; do
  case "$arg" in
    --no-configure) configure=0 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (use --no-configure, --uninstall [--purge] or --help)" >&2; exit 1 ;;
  esac
done
if [ "$purge" -eq 1 ] && [ "$uninstall" -eq 0 ]; then
  echo "install.sh: --purge goes with --uninstall" >&2
  exit 1
fi

if [ -n "${PREFIX:-}" ]; then
  bin_dir="$PREFIX/bin"
elif [ "$(id -u)" -eq 0 ]; then
  bin_dir=/usr/local/bin
else
  bin_dir="$HOME/.local/bin"
fi
binary="$bin_dir/$name"

# Builds the release binary and prints its path (wherever cargo puts it: CARGO_TARGET_DIR or
# build.target-dir may move it from ./target).
build() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found: install Rust 1.89 or newer (https://rustup.rs), then run ./install.sh again" >&2
    exit 1
  fi
  echo "install.sh: building $name (release)" >&2
  cargo build --release --locked --quiet
  local target_dir
  target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  echo "${target_dir:-target}/release/$name"
}

if [ "$uninstall" -eq 1 ]; then
  # The helper itself undoes what it did, so run it before it is deleted; when it is already
  # gone (an earlier --uninstall), build it again so that --purge still works.
  if [ -x "$binary" ]; then
    helper="$binary"
    "$helper" configure --undo || echo "install.sh: configure --undo failed; check your client configs by hand" >&2
  elif [ "$purge" -eq 1 ]; then
    helper=$(build)
  else
    echo "install.sh: $binary is not installed" >&2
    exit 0
  fi
  if [ "$purge" -eq 1 ]; then
    "$helper" logout --all >&2
  else
    "$helper" logout >&2
  fi
  remaining=$("$helper" list 2>/dev/null || echo '{}')
  if [ "$remaining" != "{}" ]; then
    echo "install.sh: stored credentials remain (local copies): $remaining" >&2
    "$helper" status 2>/dev/null | sed -n 's/^\(store\|config directory\): /  \1: /p' >&2 || true
    echo "install.sh: to erase them too, run: ./install.sh --uninstall --purge" >&2
  fi
  rm -f "$binary"
  echo "install.sh: removed $binary" >&2
  exit 0
fi

built=$(build)
mkdir -p "$bin_dir"
install -m 0755 "$built" "$binary.new"
mv -f "$binary.new" "$binary"
echo "install.sh: installed $binary ($("$binary" version))" >&2

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "install.sh: warning: $bin_dir is not on PATH; add it, or Docker and podman will not find the helper" >&2 ;;
esac

if [ "$configure" -eq 1 ]; then
  PATH="$bin_dir:$PATH" "$binary" configure
fi

if [ -n "${DEEPGRAM_API_KEY:-}" ]; then
  # On stdin, never in argv (printf is a shell builtin: no process shows the key).
  if ! printf '%s\n' "$DEEPGRAM_API_KEY" | env -u DEEPGRAM_API_KEY "$binary" login; then
    echo "install.sh: installed, but the API key was not saved (see above): fix it, then run '$name login'" >&2
    exit 1
  fi
  echo "install.sh: the API key is saved; the first pull creates your Quay credential, e.g.:" >&2
else
  echo "install.sh: next: run '$name login' (or export DEEPGRAM_API_KEY=...), then pull, e.g.:" >&2
fi
echo "  docker pull quay.io/deepgram/self-hosted-api:latest" >&2
echo "  skopeo inspect docker://quay.io/deepgram/self-hosted-api:latest" >&2
