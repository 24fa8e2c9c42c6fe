#!/usr/bin/env bash
# Runs grantflow's fuzz targets one after another, each for a bounded time, in a single
# libFuzzer process (the machine's cores are shared).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   fuzz (default: 600 s, every target)
#   fuzz/run.sh --minimize [TARGET...]              merge what the runs found into the
#                                                   committed corpus: a smallest set of
#                                                   inputs covering every feature seen
#                                                   (libFuzzer -set_cover_merge=1)
#
# New inputs go to fuzz/work/TARGET (not committed); fuzz/corpus/TARGET (committed, small)
# seeds every run. Crashes land in fuzz/artifacts/TARGET; logs in fuzz/logs/TARGET.log, whose
# last lines hold libFuzzer's final statistics (executions, coverage).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); a stable toolchain is enough. Without a
# sanitizer (`-s none`, the default here) cargo-fuzz passes only flags stable rustc takes.
# The crate forbids `unsafe`, so AddressSanitizer has nothing to find that Rust's own checks
# do not, and it costs about half the speed; FUZZ_SANITIZER=address uses it anyway, which
# needs the nightly-only `-Zsanitizer`: RUSTC_BOOTSTRAP=1 (set below) lets stable accept it.
set -euo pipefail

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
sanitizer="${FUZZ_SANITIZER:-none}"
all_targets=(form basic_auth redirect_uri scope token authorize device revoke introspect bearer_guard jwt jwks client_assertion resource client_metadata registration request_object)

minimize=0
if [ "${1:-}" = "--minimize" ]; then
  minimize=1
  shift
fi
seconds=600
if [ "$minimize" = 0 ] && [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

mkdir -p logs
cargo fuzz build -O -s "$sanitizer" >/dev/null
bin_dir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "work/$target" "artifacts/$target"
  if [ "$minimize" = 1 ]; then
    rm -rf "work/$target.min"
    mkdir -p "work/$target.min"
    "$bin_dir/$target" -set_cover_merge=1 "work/$target.min" "corpus/$target" "work/$target" \
      >"logs/$target.merge.log" 2>&1
    rm -rf "corpus/$target"
    mv "work/$target.min" "corpus/$target"
    printf '%-14s minimized corpus: %s inputs, %s bytes\n' "$target" \
      "$(find "corpus/$target" -type f | wc -l)" "$(du -sb "corpus/$target" | cut -f1)"
    continue
  fi
  status=0
  # The binary built above, run directly: editing the sources during a long run does not
  # rebuild (or break) the targets still to come.
  "$bin_dir/$target" "work/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"logs/$target.log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$' || true)
  if [ "$status" = 0 ]; then
    printf '%-14s %5ss  %12s execs  no crash\n' "$target" "$seconds" "${execs:-?}"
  else
    printf '%-14s CRASH (exit %s), see logs/%s.log and artifacts/%s/\n' "$target" "$status" "$target" "$target"
  fi
done
