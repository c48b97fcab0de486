# The MPI ranks of a running job (sourced by tests/lib.sh and experiments/fault_table.sh).
#
#   mpi_rank_pids PATTERN [RANK]   pids of the processes whose command line matches
#                                  PATTERN (pgrep -f) and that are MPI ranks (they hold
#                                  OMPI_COMM_WORLD_RANK; mpirun does not), or of rank RANK only
mpi_rank_pids() {
  local p r
  for p in $(pgrep -f -- "$1" | sort -n); do
    r=$(tr '\0' '\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    [ -n "$r" ] && { [ -z "${2:-}" ] || [ "$r" = "$2" ]; } && echo "$p"
  done
}
