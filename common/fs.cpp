#include "common/fs.h"

#include <sys/stat.h>
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

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

void make_dirs(const std::string& dir) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      RLAE_FAIL(cur, ": cannot create directory (", std::strerror(errno), ")");
    }
  }
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
