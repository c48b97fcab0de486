#include "common/checkpoint_meta.h"

#include "common/check.h"

namespace rlae {

int64_t checkpoint_meta_int(const std::map<std::string, std::string>& meta, const std::string& key,
                            const std::string& path) {
  const auto it = meta.find(key);
  RLAE_CHECK(it != meta.end(), path, ": not an rlae checkpoint (metadata '", key, "' missing)");
  const std::string& text = it->second;
  bool digits = !text.empty() && text.size() <= 18;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  RLAE_CHECK(digits, path, ": metadata '", key, "' is '", text.substr(0, 40), text.size() > 40 ? "...'" : "'",
             ", not a non-negative integer (a damaged or foreign checkpoint)");
  int64_t v = 0;
  for (char c : text) v = v * 10 + (c - '0');
  return v;
}

}  // namespace rlae
