#!/usr/bin/env bash
# Installs docker-credential-deepgram and registers it with Docker and podman/skopeo/buildah.
# `./install.sh --help` prints the usage (the text of usage() below).
set -euo pipefail
cd "$(dirname "$0")"
name=docker-credential-deepgram

usage() {
  cat <<'USAGE'
Usage: ./install.sh [--no-configure] [--api-key-file FILE | --api-key-stdin]
       ./install.sh --uninstall [--purge]

Builds docker-credential-deepgram (release), installs it on PATH, runs its `configure`
(registers it for quay.io with Docker, podman, skopeo and buildah) and saves your Deepgram API
key with its `login`, so that the first pull creates your Quay credential.

The API key never goes on a command line or into your shell history:
  on a terminal       install.sh asks for it, without echo (Enter alone skips)
  --api-key-file F    reads it from the file F
  --api-key-stdin     reads it from standard input (a pipe from a secrets manager)
  DEEPGRAM_API_KEY    taken from the environment when set (for scripts)
A key saved by an earlier run is kept, and not asked for again.

Options:
  --no-configure      build and install only
  --uninstall         undo `configure`, forget the saved API key, remove the binary
  --purge             with --uninstall: also delete this install's Deepgram credentials in
                      your project (with the saved key, before forgetting it) and erase
                      every stored credential
  -h, --help          print this help

PREFIX=/opt/dg ./install.sh installs to /opt/dg/bin (default: /usr/local/bin as root, else
~/.local/bin). Running it again rebuilds, replaces the binary and keeps the configuration.
USAGE
}

configure=1
uninstall=0
purge=0
key_file=
key_stdin=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-configure) configure=0 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --api-key-stdin) key_stdin=1 ;;
    --api-key-file)
      if [ $# -lt 2 ] || [ -z "$2" ]; then
        echo "install.sh: --api-key-file needs a file name: --api-key-file FILE" >&2
        exit 1
      fi
      key_file=$2
      shift ;;
    --api-key-file=*) key_file=${1#--api-key-file=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see ./install.sh --help)" >&2; exit 1 ;;
  esac
  shift
done
if [ "$purge" -eq 1 ] && [ "$uninstall" -eq 0 ]; then
  echo "install.sh: --purge goes with --uninstall" >&2
  exit 1
fi
if [ -n "$key_file" ] && [ "$key_stdin" -eq 1 ]; then
  echo "install.sh: --api-key-file and --api-key-stdin contradict each other: use one" >&2
  exit 1
fi
if [ "$uninstall" -eq 1 ] && { [ -n "$key_file" ] || [ "$key_stdin" -eq 1 ]; }; then
  echo "install.sh: --uninstall saves no API key: drop --api-key-file/--api-key-stdin" >&2
  exit 1
fi
if [ -n "$key_file" ] && ! [ -r "$key_file" ]; then
  echo "install.sh: cannot read the API key file $key_file: check the name and its permissions" >&2
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
  forget=(logout)
  again="./install.sh --uninstall"
  if [ "$purge" -eq 1 ]; then
    forget=(logout --all)
    again="$again --purge"
    # The remote credentials go first, with the API key that is about to be forgotten.
    if "$helper" status 2>/dev/null | grep -q '^API key: none$'; then
      ids=$("$helper" status --json 2>/dev/null |
        sed -n 's/^ *"id": "\([^"]*\)",*$/\1/p' | sort -u | tr '\n' ' ')
      if [ -n "$ids" ]; then
        echo "install.sh: no Deepgram API key is saved, so this install's Deepgram credentials stay in your project: delete them in the Deepgram Console (Self-Hosted > Distribution Credentials): ${ids% }" >&2
      fi
    elif ! "$helper" revoke --all --yes >&2; then
      echo "install.sh: this install's Deepgram credentials could not all be deleted (see above), so nothing else was removed: fix what it names, then run $again again" >&2
      exit 1
    fi
  fi
  if ! "$helper" "${forget[@]}" >&2; then
    echo "install.sh: the saved API key could not be forgotten (see above), so $binary is kept: fix what it names, then run $again again" >&2
    exit 1
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

# Saves the API key read on stdin with `login` (never in argv: printf is a shell builtin, so no
# process shows the key).
save_key() {
  if ! env -u DEEPGRAM_API_KEY "$binary" login; then
    echo "install.sh: installed, but the API key was not saved (see above): fix it, then run '$name login'" >&2
    exit 1
  fi
  echo "install.sh: the API key is saved; the first pull creates your Quay credential, e.g.:" >&2
}

# Where a key saved by an earlier `login` is ("the keychain" or the file), if any.
saved_key_place() {
  env -u DEEPGRAM_API_KEY "$binary" status 2>/dev/null |
    sed -n 's/^API key: saved by login (in \(.*\))$/\1/p' || true
}

next_login="install.sh: next: run '$name login' (it asks for the key without echo), then pull, e.g.:"
if [ -n "$key_file" ]; then
  save_key < "$key_file"
elif [ "$key_stdin" -eq 1 ]; then
  save_key
elif [ -n "${DEEPGRAM_API_KEY:-}" ]; then
  printf '%s\n' "$DEEPGRAM_API_KEY" | save_key
elif place=$(saved_key_place) && [ -n "$place" ]; then
  echo "install.sh: kept the Deepgram API key saved earlier by login (in $place); the first pull creates your Quay credential, e.g.:" >&2
elif [ -t 0 ]; then
  key=
  read -rs -p "Deepgram API key (input hidden; Enter alone skips): " key || true
  echo >&2
  if [ -n "$key" ]; then
    printf '%s\n' "$key" | save_key
    key=
  else
    echo "$next_login" >&2
  fi
else
  echo "$next_login" >&2
fi
echo "  docker pull quay.io/deepgram/self-hosted-api:latest" >&2
echo "  skopeo inspect docker://quay.io/deepgram/self-hosted-api:latest" >&2
