#include "common/mpi_env.h"

#include <unistd.h>

#include "common/check.h"
#include "common/log.h"

namespace rlae {
namespace {

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

}  // namespace

namespace detail {
void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
  throw Error(str_cat("MPI error on ", host_name(), ": ", call, " failed: ",
                      std::string(msg, static_cast<size_t>(len)), " (", file, ":", line, ")"));
}
}  // namespace detail

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  RLAE_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    RLAE_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    owns_ = true;
  }
  RLAE_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  RLAE_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &topo_.rank));
  RLAE_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &topo_.size));
  MPI_Comm local = MPI_COMM_NULL;
  RLAE_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, topo_.rank,
                                     MPI_INFO_NULL, &local));
  RLAE_MPI_CHECK(MPI_Comm_rank(local, &topo_.local_rank));
  RLAE_MPI_CHECK(MPI_Comm_size(local, &topo_.local_size));
  RLAE_MPI_CHECK(MPI_Comm_free(&local));
  topo_.host = host_name();
  if (topo_.size > 1) log_set_rank(topo_.rank);
}

MpiSession::~MpiSession() {
  if (!owns_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "unknown";
  std::string s(buf, static_cast<size_t>(len));
  const auto nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ',' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  return detail::str_cat("MPI ", major, ".", minor, " (", s, ")");
}

}  // namespace rlae
