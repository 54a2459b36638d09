# shellcheck shell=bash
# Helpers for the stages in scripts/gate.d/ (sourced by scripts/demo.sh).

# summary RELEASE TOOL RESULT "key figure": one row of the final one-screen summary.
summary() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/summary.tsv"
}

# expect_exit CODE cmd...: runs cmd; the demo fails when its exit code is not CODE.
expect_exit() {
  local want=$1
  shift
  local got=0
  "$@" || got=$?
  if [ "$got" != "$want" ]; then
    echo "demo: expected exit $want, got $got: $*" >&2
    DEMO_FAILURES=$((${DEMO_FAILURES:-0} + 1))
    echo "$*" >>"$OUT/unexpected.txt"
    return 0
  fi
}

# result_of FILE: the `result` field of a report file (ok, fail, error, or missing).
result_of() {
  if [ -s "$1" ]; then jq -r '.result // "missing"' "$1" 2>/dev/null || echo unreadable; else echo missing; fi
}

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
