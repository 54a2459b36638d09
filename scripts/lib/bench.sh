# Shared by scripts/bench/*.sh (sourced after `cd "$root"`). BENCH_QUICK=1 (the bench smoke
# test in `make test`) runs every command once on small inputs and writes to
# out/bench-quick/: it proves each bench works on a fresh checkout and measures nothing.
# Otherwise hyperfine gets the script's own warm-up and run counts, results in out/bench/.
quick() { [ "${BENCH_QUICK:-0}" = 1 ]; }
if quick; then BENCH_OUT=${BENCH_OUT:-$root/out/bench-quick}; else BENCH_OUT=${BENCH_OUT:-$root/out/bench}; fi
mkdir -p "$BENCH_OUT"
#   hf_runs WARMUP MIN_RUNS  -> sets HF_RUNS for hyperfine
hf_runs() {
  if quick; then
    HF_RUNS=(--warmup 0 --runs 1)
  else
    HF_RUNS=(--warmup "$1" --min-runs "$2")
  fi
}
