// The safetensors file format, without LibTorch: header parsing and validation.
//
//   [u64 little-endian N][N bytes of JSON header][data buffer]
//   header: {"__metadata__": {"k": "v", ...},
//            "<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
//   offsets are relative to the start of the data buffer.
//
// parse_safetensors_header() checks everything a reader relies on: N fits the file and is
// at most 100 MB, the header is a JSON object, every dtype is known, every shape is a list
// of non-negative integers, end - begin = product(shape) * dtype size (without overflow),
// and the tensors tile the data buffer exactly (sorted by offset, no gap, no overlap, the
// last one ends at the end of the file). Any violation throws rlae::Error naming `source`
// (the file) and the problem. Kept free of LibTorch so that the libFuzzer target
// (tests/fuzz/fuzz_safetensors.cpp) builds in seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlae {

enum class StDtype { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

// "F32" -> StDtype::F32; false when unknown.
bool st_dtype_from_name(const std::string& name, StDtype* out);
const char* st_dtype_name(StDtype dtype);
std::size_t st_dtype_size(StDtype dtype);

struct StTensorEntry {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data buffer, [begin, end)
  uint64_t end = 0;
  int64_t numel() const;
};

struct StHeader {
  std::map<std::string, std::string> metadata;
  std::vector<StTensorEntry> tensors;  // in data-offset order
  uint64_t data_start = 0;             // absolute offset of the data buffer (8 + N)
};

// Parses and validates the first `size` bytes of a safetensors file (the whole file).
StHeader parse_safetensors_header(const uint8_t* data, std::size_t size, const std::string& source);

// The 8 + N header bytes for these entries (offsets already assigned by the caller) and
// metadata, padded with spaces so that the data buffer starts 8-byte aligned.
std::string make_safetensors_header(const std::vector<StTensorEntry>& tensors,
                                    const std::map<std::string, std::string>& metadata);

// The weight_map of a sharded checkpoint's model.safetensors.index.json (`text`,
// read from `path`): (tensor, shard file) pairs in the file's order. rlae::Error
// naming `path` for bad JSON, a missing or empty weight_map, a value that is not
// a file name, or a shard name that is not a plain file name in the directory.
std::vector<std::pair<std::string, std::string>> parse_shard_index(const std::string& text, const std::string& path);

}  // namespace rlae
