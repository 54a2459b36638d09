# `make bench` works on a fresh checkout: every scripts/bench/*.sh runs once in quick mode
# (BENCH_QUICK=1: one run per command, small inputs, results in out/bench-quick/) with the
# debug binaries. It measures nothing; it proves the benches are not broken.
cd "$ROOT"
BENCH_QUICK=1 BENCH_OUT="$TMP/bench" BIN="$BIN" bash scripts/bench.sh
for f in alert-lint sbom-diff evidence-pack migration-gate-lint migration-gate-dry-run replayctl; do
  jq -e '.results | length >= 2' "$TMP/bench/$f.json" >/dev/null || { echo "no results in $f.json"; exit 1; }
done
