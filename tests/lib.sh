# Shared by the shell tests (sourced): a scratch folder removed at exit, pass/bad
# counters and the summary line that sets the test's exit status.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   pass "what held"; bad "what failed: why"
#   summary            # last line: "N passed, M failed"; exit 1 when any failed
#
# Also sets $here (the repository root) and $mpirun (launch/mpirun.sh, which adds
# --allow-run-as-root --oversubscribe where needed).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/tests/mpi_ranks.sh"  # mpi_rank_pids
mpirun="$here/launch/mpirun.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok=0; fail=0
pass() { echo "ok   $1"; ok=$((ok+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
summary() {
  echo "$ok passed, $fail failed"
  [ "$fail" -eq 0 ] || exit 1
  exit 0
}
