// Helpers shared by the libFuzzer targets: a per-process scratch path, writing
// an input to a file, splitting an input at NUL bytes into several files' texts,
// finding the corpus directory.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace fuzz {

// <dir>/rlae_fuzz_<tag>_<pid><suffix>, in /dev/shm when there is one (a file in
// memory: no disk I/O per execution), else /tmp.
inline std::string scratch_path(const std::string& tag, const std::string& suffix) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return dir + "/rlae_fuzz_" + tag + "_" + std::to_string(getpid()) + suffix;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();  // the fuzzer's own scratch file: not a finding in the parser
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

// "a\0b\0c" -> {"a", "b", "c"}, at most `parts` pieces (the last keeps any further NULs).
inline std::vector<std::string> split_nul(const uint8_t* data, size_t size, size_t parts) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && out.size() + 1 < parts) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  out.push_back(cur);
  return out;
}

// The corpus directory libFuzzer was given: its first argument that is not a flag
// (nullptr when none), for seeding an empty corpus from LLVMFuzzerInitialize.
inline const char* corpus_dir(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
  }
  return nullptr;
}

// Creates the corpus directory when missing; true when it exists and is empty
// (the target then writes its seeds there).
inline bool empty_corpus_dir(const std::string& dir) {
  mkdir(dir.c_str(), 0755);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  }
  closedir(d);
  return empty;
}

}  // namespace fuzz
