#include "common/fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/check.h"

namespace rlae {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RLAE_CHECK(in.good(), path, ": cannot open for reading (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  RLAE_CHECK(!in.bad(), path, ": read error");
  return ss.str();
}

void rename_file(const std::string& from, const std::string& to) {
  RLAE_CHECK(std::rename(from.c_str(), to.c_str()) == 0, "cannot rename ", from, " to ", to,
             " (", std::strerror(errno), ")");
}

void write_file_atomic(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    RLAE_CHECK(out.good(), tmp, ": cannot open for writing (", std::strerror(errno), ")");
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      RLAE_FAIL(tmp, ": write failed (disk full?)");
    }
  }
  rename_file(tmp, path);
}

}  // namespace rlae
