# shellcheck shell=bash
# Helpers for the stages in scripts/gate.d/ (sourced by scripts/release-gate.sh, which
# documents the stage interface at its top).

# summary RELEASE TOOL RESULT "key figure": one row of the one-screen summary. Rows for a
# release other than the one being gated ($REL) are dropped: a stage that loops over
# several releases writes only the current one's.
summary() {
  if [ -n "${REL:-}" ] && [ "$1" != "$REL" ]; then return 0; fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/summary.tsv"
}

# expect_exit CODE cmd...: runs cmd; records it in $OUT/unexpected.txt when its exit code
# is not CODE (what the example release expects: the demo fails on any such line; a real
# run lists them and leaves the decision to the gate). Always returns 0.
expect_exit() {
  local want=$1
  shift
  local got=0
  "$@" || got=$?
  if [ "$got" != "$want" ]; then
    echo "release-gate: expected exit $want, got $got: $*" >&2
    DEMO_FAILURES=$((${DEMO_FAILURES:-0} + 1))
    echo "[${REL:-?}] exit $got, expected $want: $*" >>"$OUT/unexpected.txt"
  fi
  return 0
}

# result_of FILE: the `result` field of a report file (ok, fail, error, or missing).
result_of() {
  if [ -s "$1" ]; then jq -r '.result // "missing"' "$1" 2>/dev/null || echo unreadable; else echo missing; fi
}

# expected_fail: 1 when the release being gated is one whose defects the gates must catch
# (the examples' bad-release), else 0 — the exit code `expect_exit` should see from a gate.
expected_fail() {
  if [ "${REL:-}" = bad-release ]; then echo 1; else echo 0; fi
}

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
