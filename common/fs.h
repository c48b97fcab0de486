// Small file-system helpers with clear errors.
#pragma once

#include <string>

namespace rlae {

// Reads a whole file; rlae::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

// Writes `data` to `path` through a temporary file in the same directory, then
// renames it: readers never see a half-written file.
void write_file_atomic(const std::string& path, const std::string& data);

// Renames `from` to `to`, replacing it (atomic within one file system).
void rename_file(const std::string& from, const std::string& to);

bool file_exists(const std::string& path);
// dir + "/" + name (no doubled slash; name alone when dir is empty).
std::string join_path(const std::string& dir, const std::string& name);
// Creates `dir` and its missing parents; rlae::Error naming the first one that
// cannot be created.
void make_dirs(const std::string& dir);

}  // namespace rlae
