// MPI start-up and return-code checks.
#pragma once

#include <mpi.h>

#include <string>

namespace rlae {

namespace detail {
[[noreturn]] void throw_mpi_error(int code, const char* call, const char* file, int line);
}

// Where this process stands in the MPI job.
struct MpiTopology {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // rank among the processes on this node
  int local_size = 1;
  std::string host;
};

// RAII: MPI_Init_thread on construction (once per process), MPI_Finalize on
// destruction. Errors on MPI_COMM_WORLD return codes instead of aborting, so
// that RLAE_MPI_CHECK can report them.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  const MpiTopology& topology() const { return topo_; }

 private:
  MpiTopology topo_;
  bool owns_ = false;
};

// "MPI 3.1 (Open MPI v4.1.4, ...)" without MPI_Init.
std::string mpi_library_version();

}  // namespace rlae

// Checks an MPI return code; throws rlae::Error naming the call, host, file, line
// and MPI's own message.
#define RLAE_MPI_CHECK(call)                                                  \
  do {                                                                        \
    const int rlae_mpi_rc_ = (call);                                          \
    if (rlae_mpi_rc_ != MPI_SUCCESS)                                          \
      ::rlae::detail::throw_mpi_error(rlae_mpi_rc_, #call, __FILE__, __LINE__); \
  } while (0)
