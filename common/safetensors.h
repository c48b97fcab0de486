// safetensors files as at::Tensor: a memory-mapped, zero-copy reader, a writer, and
// model checkpoints as Hugging Face writes them (one model.safetensors, or shards listed
// by model.safetensors.index.json).
//
//   auto f = rlae::SafetensorsFile::open("model.safetensors");
//   at::Tensor w = f->get("model.embed_tokens.weight");   // CPU view of the mapped file
//   rlae::save_safetensors("out.safetensors", {{"w", w}}, {{"format", "pt"}});
//
// Every problem with a file (truncated, corrupt header, lying offsets, unknown dtype,
// missing tensor) throws rlae::Error naming the file; see common/safetensors_format.h.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "common/safetensors_format.h"

namespace rlae {

class MappedFile;

// One safetensors file, memory-mapped read-only (copy-on-write: writing to a returned
// tensor never changes the file). Tensors returned by get() share the mapping, which
// stays alive as long as any of them does.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  // Names in data-offset order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The header entry; rlae::Error naming the file when absent.
  const StTensorEntry& entry(const std::string& name) const;
  // A CPU tensor of the stored dtype and shape: a zero-copy view when the data is
  // aligned for its dtype, otherwise a copy. Throws for dtypes LibTorch 1.13 lacks
  // (U16, U32, U64, F8_*).
  at::Tensor get(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  StHeader header_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> header_.tensors index
};

// All tensors of one file (views into its mapping).
std::unordered_map<std::string, at::Tensor> load_safetensors(const std::string& path);

// Writes `tensors` (any device, any layout; copied to contiguous CPU) in this order to
// `path` through a temporary file that is renamed when complete. "format": "pt" is
// added to the metadata unless given (transformers checks it).
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// The weights of a model directory: model.safetensors, or the shards named by
// model.safetensors.index.json (every listed tensor must be in its shard).
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The index file when sharded, else the single model.safetensors (for error messages).
  const std::string& source() const { return source_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // The file that holds `name` (for error messages); rlae::Error when absent.
  const std::string& file_of(const std::string& name) const;
  const StTensorEntry& entry(const std::string& name) const;
  at::Tensor get(const std::string& name) const;

 private:
  const SafetensorsFile& file_for(const std::string& name) const;
  std::string dir_;
  std::string source_;  // the index file, or the single model.safetensors
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, std::size_t> where_;  // name -> files_ index
};

}  // namespace rlae
