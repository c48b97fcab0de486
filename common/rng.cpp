#include "common/rng.h"

#include <cstdio>

namespace rlae {

uint64_t fnv1a_bytes(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

uint64_t derive_seed(uint64_t seed, std::string_view name, std::initializer_list<uint64_t> indices) {
  uint64_t h = splitmix64(seed + kGoldenGamma) ^ fnv1a(name);
  h = splitmix64(h + kGoldenGamma);
  for (uint64_t i : indices) h = splitmix64((h ^ i) + kGoldenGamma);
  return h;
}

}  // namespace rlae
