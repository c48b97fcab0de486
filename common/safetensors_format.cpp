#include "common/safetensors_format.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/check.h"

namespace rlae {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference implementation

struct DtypeInfo {
  StDtype dtype;
  const char* name;
  std::size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {StDtype::BOOL, "BOOL", 1}, {StDtype::U8, "U8", 1},     {StDtype::I8, "I8", 1},
    {StDtype::I16, "I16", 2},   {StDtype::U16, "U16", 2},   {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::I32, "I32", 4},   {StDtype::U32, "U32", 4},
    {StDtype::F32, "F32", 4},   {StDtype::F64, "F64", 8},   {StDtype::I64, "I64", 8},
    {StDtype::U64, "U64", 8},   {StDtype::F8_E4M3, "F8_E4M3", 1},
    {StDtype::F8_E5M2, "F8_E5M2", 1},
};

const DtypeInfo& info_of(StDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d;
  RLAE_ASSERT(false, "unknown StDtype ", static_cast<int>(dtype));
  return kDtypes[0];
}

// A non-negative integer that fits uint64 (JSON numbers may be signed, unsigned or float).
bool as_u64(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < 0) return false;
    *out = static_cast<uint64_t>(i);
    return true;
  }
  return false;
}

StTensorEntry parse_entry(const std::string& name, const nlohmann::json& e,
                          const std::string& source) {
  RLAE_CHECK(e.is_object(), source, ": safetensors header: tensor '", name,
             "' is not a JSON object");
  StTensorEntry t;
  t.name = name;

  auto dt = e.find("dtype");
  RLAE_CHECK(dt != e.end() && dt->is_string(), source, ": safetensors header: tensor '", name,
             "' has no string \"dtype\"");
  RLAE_CHECK(st_dtype_from_name(dt->get<std::string>(), &t.dtype), source,
             ": safetensors header: tensor '", name, "' has unknown dtype '",
             dt->get<std::string>(), "'");

  auto sh = e.find("shape");
  RLAE_CHECK(sh != e.end() && sh->is_array(), source, ": safetensors header: tensor '", name,
             "' has no \"shape\" list");
  RLAE_CHECK(sh->size() <= 64, source, ": safetensors header: tensor '", name, "' has ",
             sh->size(), " dimensions (at most 64)");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    uint64_t v = 0;
    RLAE_CHECK(as_u64(d, &v) && v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
               source, ": safetensors header: tensor '", name, "' has a bad dimension ",
               d.dump());
    t.shape.push_back(static_cast<int64_t>(v));
    RLAE_CHECK(!__builtin_mul_overflow(numel, v, &numel), source, ": safetensors header: tensor '",
               name, "' has too many elements");
  }
  uint64_t nbytes = 0;
  RLAE_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(st_dtype_size(t.dtype)), &nbytes) &&
                 numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
             source, ": safetensors header: tensor '", name, "' has too many elements");

  auto off = e.find("data_offsets");
  RLAE_CHECK(off != e.end() && off->is_array() && off->size() == 2 && as_u64((*off)[0], &t.begin) &&
                 as_u64((*off)[1], &t.end),
             source, ": safetensors header: tensor '", name,
             "' needs \"data_offsets\": [begin, end] of non-negative integers");
  RLAE_CHECK(t.begin <= t.end, source, ": safetensors header: tensor '", name,
             "' has data_offsets [", t.begin, ", ", t.end, "] with begin > end");
  RLAE_CHECK(t.end - t.begin == nbytes, source, ": safetensors header: tensor '", name, "' (",
             st_dtype_name(t.dtype), ", ", numel, " elements) needs ", nbytes,
             " bytes but data_offsets [", t.begin, ", ", t.end, "] span ", t.end - t.begin);
  return t;
}

}  // namespace

bool st_dtype_from_name(const std::string& name, StDtype* out) {
  for (const auto& d : kDtypes) {
    if (name == d.name) {
      *out = d.dtype;
      return true;
    }
  }
  return false;
}

const char* st_dtype_name(StDtype dtype) { return info_of(dtype).name; }
std::size_t st_dtype_size(StDtype dtype) { return info_of(dtype).size; }

int64_t StTensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StHeader parse_safetensors_header(const uint8_t* data, std::size_t size, const std::string& source) {
  RLAE_CHECK(size >= 8, source, ": not a safetensors file (", size,
             " bytes, shorter than the 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little endian
  RLAE_CHECK(n <= kMaxHeaderBytes, source, ": safetensors header length ", n,
             " is implausible (more than ", kMaxHeaderBytes, " bytes); not a safetensors file?");
  RLAE_CHECK(n <= size - 8, source, ": truncated safetensors file: header says ", n,
             " header bytes but the file has only ", size - 8, " after the length");
  RLAE_CHECK(n >= 2 && data[8] == '{', source,
             ": safetensors header is not a JSON object; not a safetensors file?");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(data + 8, data + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    RLAE_FAIL(source, ": safetensors header is not valid JSON (", e.what(), ")");
  }
  RLAE_CHECK(j.is_object(), source, ": safetensors header is not a JSON object");

  StHeader h;
  h.data_start = 8 + n;
  const uint64_t data_size = size - h.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      RLAE_CHECK(it->is_object(), source, ": safetensors __metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        RLAE_CHECK(m->is_string(), source, ": safetensors __metadata__ value of '", m.key(),
                   "' is not a string");
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    h.tensors.push_back(parse_entry(it.key(), *it, source));
  }

  std::stable_sort(h.tensors.begin(), h.tensors.end(), [](const StTensorEntry& a, const StTensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  const StTensorEntry* prev = nullptr;
  for (const auto& t : h.tensors) {
    if (t.begin != expect) {
      RLAE_CHECK(t.begin >= expect, source, ": safetensors header: tensor '", t.name,
                 "' data_offsets [", t.begin, ", ", t.end, "] overlap tensor '",
                 prev ? prev->name : "", "'");
      RLAE_FAIL(source, ": safetensors header: gap in the data buffer before tensor '", t.name,
                "' (bytes ", expect, " to ", t.begin, " belong to no tensor)");
    }
    RLAE_CHECK(t.end <= data_size, source, ": truncated safetensors file or lying header: tensor '",
               t.name, "' data_offsets [", t.begin, ", ", t.end, "] exceed the data buffer of ",
               data_size, " bytes");
    expect = t.end;
    prev = &t;
  }
  RLAE_CHECK(expect == data_size, source, ": safetensors file has ", data_size - expect,
             " trailing bytes after the last tensor (corrupt or wrong header)");
  return h;
}

std::string make_safetensors_header(const std::vector<StTensorEntry>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    j["__metadata__"] = std::move(m);
  }
  for (const auto& t : tensors) {
    RLAE_CHECK(t.name != "__metadata__", "safetensors: a tensor may not be named __metadata__");
    RLAE_CHECK(!j.contains(t.name), "safetensors: duplicate tensor name '", t.name, "'");
    j[t.name] = {{"dtype", st_dtype_name(t.dtype)},
                 {"shape", t.shape},
                 {"data_offsets", {t.begin, t.end}}};
  }
  std::string text;
  try {
    text = j.dump();
  } catch (const nlohmann::json::exception& e) {
    RLAE_FAIL("safetensors: cannot encode the header (", e.what(), ")");
  }
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text;
}

std::vector<std::pair<std::string, std::string>> parse_shard_index(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    RLAE_FAIL(path, ": not valid JSON (", e.what(), ")");
  }
  RLAE_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(), path,
             ": no \"weight_map\" object");
  std::vector<std::pair<std::string, std::string>> listed;  // tensor, shard
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    RLAE_CHECK(it->is_string(), path, ": weight_map entry '", it.key(), "' is not a file name");
    const std::string shard = it->get<std::string>();
    RLAE_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard.find('\0') == std::string::npos &&
                   shard != "." && shard != "..",
               path, ": weight_map entry '", it.key(), "' names a bad shard file '", shard, "'");
    listed.emplace_back(it.key(), shard);
  }
  RLAE_CHECK(!listed.empty(), path, ": weight_map is empty");
  return listed;
}

}  // namespace rlae
