// libFuzzer target for the safetensors header parser (common/safetensors_format.cpp).
//
// Build and run (from the repository root; needs clang: apt-get install clang):
//
//   mkdir -p build-fuzz/corpus && clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_safetensors.cpp common/safetensors_format.cpp common/check.cpp -o build-fuzz/fuzz_safetensors && build-fuzz/fuzz_safetensors build-fuzz/corpus -max_total_time=60
//
// Any input must either parse or throw rlae::Error; a crash, sanitizer report, hang or
// rlae::InternalError (uncaught here) is a bug. A header that parses is re-encoded with
// make_safetensors_header() and must parse back to the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/check.h"
#include "common/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rlae::StHeader h;
  try {
    h = rlae::parse_safetensors_header(data, size, "fuzz-input");
  } catch (const rlae::Error&) {
    return 0;  // rejected with a clear error: fine
  }
  // Round trip: the same tensors and metadata, re-encoded, parse to the same header.
  const std::string header = rlae::make_safetensors_header(h.tensors, h.metadata);
  std::string file = header;
  file.append(reinterpret_cast<const char*>(data) + h.data_start, size - h.data_start);
  const rlae::StHeader back = rlae::parse_safetensors_header(
      reinterpret_cast<const uint8_t*>(file.data()), file.size(), "fuzz-roundtrip");
  if (back.tensors.size() != h.tensors.size() || back.metadata != h.metadata) std::abort();
  for (std::size_t i = 0; i < h.tensors.size(); ++i) {
    const auto& a = h.tensors[i];
    const auto& b = back.tensors[i];
    if (a.dtype != b.dtype || a.shape != b.shape || a.begin != b.begin || a.end != b.end) std::abort();
  }
  return 0;
}
