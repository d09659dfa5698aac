#!/usr/bin/env bash
# Build every fuzz target with cargo-afl and run each one briefly from its seed corpus.
# Fails if a seed or a new input crashes a target (or AFL++ cannot run it).
#
#   fuzz/ci.sh                 # every target, FUZZ_SECS seconds each (default 2)
#   FUZZ_SECS=60 fuzz/ci.sh    # longer
#   fuzz/ci.sh warrant keys    # only these targets
#   FUZZ_OUT=/tmp/f fuzz/ci.sh # keep the AFL++ output folders
#
# Crashing inputs are copied to fuzz/out/crashes/<target>/ (replay: target/release/<target> < FILE).
set -euo pipefail
cd "$(dirname "$0")"

AFL_CRATE_VERSION=0.18.2
secs="${FUZZ_SECS:-2}"

if ! cargo afl --version 2>/dev/null | grep -q "cargo-afl $AFL_CRATE_VERSION"; then
  cargo install cargo-afl --version "$AFL_CRATE_VERSION" --locked
fi

if ! cargo metadata --locked --format-version 1 >/dev/null 2>"$(mktemp)"; then
  echo "fuzz/Cargo.lock is out of date (a workspace crate gained or changed a dependency):" >&2
  echo "  cargo metadata --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null" >&2
  echo "updates it to the versions already locked where possible; commit fuzz/Cargo.lock." >&2
  exit 1
fi
cargo afl build --release --locked --bins

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for d in seeds/*/; do targets+=("$(basename "$d")"); done
fi

# CI runs as root without a terminal, on machines whose CPU governor and core_pattern AFL++
# would otherwise refuse; no core binding (the cores are shared).
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1 AFL_FAST_CAL=1 AFL_QUIET=1 AFL_NO_WARN_INSTABILITY=1

# FUZZ_OUT=DIR keeps each target's AFL++ output (corpus, crashes, stats) in DIR/<target>.
if [ -n "${FUZZ_OUT:-}" ]; then
  work="$FUZZ_OUT"
  mkdir -p "$work"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
failed=()
printf '%-18s %10s %8s %8s %6s %6s\n' target execs exec/s corpus crash hang
for t in "${targets[@]}"; do
  [ -d "seeds/$t" ] || { echo "no seeds for target $t" >&2; exit 2; }
  out="$work/$t"
  if ! cargo afl fuzz -i "seeds/$t" -o "$out" -V "$secs" -t 2000 -- "target/release/$t" \
      >"$work/$t.log" 2>&1; then
    echo "afl-fuzz failed on target $t:" >&2
    tail -n 30 "$work/$t.log" >&2
    failed+=("$t")
    continue
  fi
  stats="$out/default/fuzzer_stats"
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  printf '%-18s %10s %8s %8s %6s %6s\n' "$t" "$(get execs_done)" "$(get execs_per_sec)" \
    "$(get corpus_count)" "$(get saved_crashes)" "$(get saved_hangs)"
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  if [ "$crashes" -gt 0 ]; then
    mkdir -p "out/crashes/$t"
    cp "$out"/default/crashes/id:* "out/crashes/$t/"
    echo "target $t: $crashes crashing input(s), copied to fuzz/out/crashes/$t/" >&2
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes or could not run: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${secs} s each, no crash"
