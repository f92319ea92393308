#!/usr/bin/env bash
# Builds the fuzz targets and runs each one for a bounded time, one after the other, then
# prints per target the runs, coverage (edges), features and corpus size. Exits non-zero if
# any target crashed; the crashing input is kept in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh                         # 60 s per target
#   fuzz/run.sh 300                     # 5 minutes per target
#   fuzz/run.sh 10 config_toml duration # only these targets
#
# Needs nightly Rust and cargo-fuzz (`cargo install cargo-fuzz --locked`). New inputs that
# reach new code go to fuzz/corpus/<target>/ (not in git); fuzz/seeds/<target>/ are the
# committed starting samples. One process at a time, at low priority: no -jobs, no -fork.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz/run.sh: seconds-per-target must be a positive whole number, got \"$seconds\"" >&2
  exit 2
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: nightly Rust not found: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz not found: cargo install cargo-fuzz --locked" >&2
  exit 1
fi

# The parsers are safe Rust: AddressSanitizer would find nothing more and halve the speed.
fuzz=(cargo +nightly fuzz)
build=(--sanitizer none)
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

start=$SECONDS
mkdir -p corpus
nice -n 15 "${fuzz[@]}" build "${build[@]}" >corpus/build.log 2>&1 ||
  { cat corpus/build.log >&2; exit 1; }
echo "built in $((SECONDS - start)) s; fuzzing ${#targets[@]} targets for $seconds s each"

failed=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="corpus/$target.log"
  status=ok
  nice -n 15 "${fuzz[@]}" run "${build[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=CRASH
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  stats=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 |
    sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1  ft \2  corpus \3/')
  printf '%-16s %-5s runs %-10s %s\n' "$target" "$status" "${runs:-?}" "${stats:-no stats}"
  if [ "$status" != ok ]; then
    failed+=("$target")
    grep -E "panicked at|^thread|SUMMARY|Test unit written to|ERROR:" "$log" | head -n 8 | sed 's/^/    /'
  fi
done

echo "total $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: crashes in: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/corpus/*.log)" >&2
  exit 1
fi
