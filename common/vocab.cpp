#include "common/vocab.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "common/check.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/rng.h"

namespace rlae {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr char kMagic[8] = {'R', 'L', 'A', 'E', 'V', 'O', 'C', 'B'};

// Union keys: text tokens by their bytes; specials in a namespace of their own.
std::string special_key(const std::string& content) { return std::string("\x01special\x01", 9) + content; }
const std::string kEosKey = std::string("\x01special\x01", 9) + "<rlae:eos>";

// Little binary writer/reader for the cache file.
struct Writer {
  std::string out;
  void u32(uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
  void i32s(const std::vector<int32_t>& v) {
    u32(static_cast<uint32_t>(v.size()));
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out += s;
  }
};

struct Reader {
  const std::string& in;
  const std::string& path;
  size_t pos = 0;
  void need(size_t n) {
    RLAE_CHECK(n <= in.size() && pos <= in.size() - n, path, ": vocabulary cache is truncated");
  }
  uint32_t u32() {
    need(4);
    uint32_t v;
    std::memcpy(&v, in.data() + pos, 4);
    pos += 4;
    return v;
  }
  std::vector<int32_t> i32s() {
    const uint32_t n = u32();
    need(size_t{n} * 4);
    std::vector<int32_t> v(n);
    std::memcpy(v.data(), in.data() + pos, size_t{n} * 4);
    pos += size_t{n} * 4;
    return v;
  }
  std::string str() {
    const uint32_t n = u32();
    need(n);
    std::string s = in.substr(pos, n);
    pos += n;
    return s;
  }
};

std::string concat_bytes(const Tokenizer& tok, const std::vector<int32_t>& ids, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < ids.size(); ++i) out += tok.token_bytes(ids[i]);
  return out;
}

bool is_byte_token(const std::string& token) {
  return token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token.back() == '>';
}

// The ids that continue a text with exactly the bytes `s`. A plain encode can
// add a prefix space (SentencePiece-style Prepend("▁")), so when its bytes are
// not `s`, encode an anchor + s and drop the anchor's ids; last, spell `s` with
// single-byte tokens. Empty when no spelling exists.
std::vector<int32_t> continuation_ids(const Tokenizer& tok, const std::string& s,
                                      const std::vector<int32_t>& byte_ids) {
  std::vector<int32_t> ids = tok.encode(s);
  if (concat_bytes(tok, ids) == s) return ids;
  for (const char* anchor : {"\n", "0", "a"}) {
    const std::vector<int32_t> pa = tok.encode(anchor);
    ids = tok.encode(std::string(anchor) + s);
    if (ids.size() > pa.size() && std::equal(pa.begin(), pa.end(), ids.begin()) &&
        concat_bytes(tok, ids, pa.size()) == s) {
      return {ids.begin() + static_cast<std::ptrdiff_t>(pa.size()), ids.end()};
    }
  }
  ids.clear();
  for (unsigned char c : s) {
    if (byte_ids[c] < 0) return {};
    ids.push_back(byte_ids[c]);
  }
  return ids;
}

}  // namespace

struct UnionVocabIO {
  static std::string save(const UnionVocab& v) {
    Writer w;
    w.out.append(kMagic, 8);
    w.u32(kFormatVersion);
    w.u32(static_cast<uint32_t>(v.bytes_.size()));
    for (const auto& b : v.bytes_) w.str(b);
    w.i32s(std::vector<int32_t>(v.special_.begin(), v.special_.end()));
    w.u32(static_cast<uint32_t>(v.eos_));
    w.u32(static_cast<uint32_t>(v.to_union_.size()));
    for (size_t m = 0; m < v.to_union_.size(); ++m) {
      w.i32s(v.to_union_[m]);
      w.i32s(v.from_union_[m]);
      w.i32s(v.read_[m]);
      w.i32s(v.append_off_[m]);
      w.i32s(v.append_[m]);
    }
    w.i32s(v.first_eos_);
    return w.out;
  }

  static UnionVocab load(const std::string& data, const std::string& path) {
    Reader r{data, path};
    r.need(8);
    RLAE_CHECK(std::memcmp(data.data(), kMagic, 8) == 0, path, ": not an rlae vocabulary cache");
    r.pos = 8;
    const uint32_t version = r.u32();
    RLAE_CHECK(version == kFormatVersion, path, ": vocabulary cache version ", version, ", expected ",
               kFormatVersion);
    UnionVocab v;
    const uint32_t U = r.u32();
    RLAE_CHECK(U <= data.size(), path, ": vocabulary cache is corrupt (size ", U, ")");
    v.bytes_.resize(U);
    for (auto& b : v.bytes_) b = r.str();
    const auto sp = r.i32s();
    v.special_.assign(sp.begin(), sp.end());
    v.eos_ = static_cast<int32_t>(r.u32());
    const uint32_t K = r.u32();
    RLAE_CHECK(K <= 1024, path, ": vocabulary cache is corrupt (", K, " members)");
    for (uint32_t m = 0; m < K; ++m) {
      v.to_union_.push_back(r.i32s());
      v.from_union_.push_back(r.i32s());
      v.read_.push_back(r.i32s());
      v.append_off_.push_back(r.i32s());
      v.append_.push_back(r.i32s());
      RLAE_CHECK(v.from_union_[m].size() == U && v.read_[m].size() == U && v.append_off_[m].size() == U + 1,
                 path, ": vocabulary cache is corrupt (member ", m, ")");
    }
    v.first_eos_ = r.i32s();
    RLAE_CHECK(r.pos == data.size() && v.special_.size() == U && v.first_eos_.size() == K, path,
               ": vocabulary cache is corrupt");
    return v;
  }
};

UnionVocab UnionVocab::build(const std::vector<VocabMember>& members) {
  RLAE_CHECK(!members.empty(), "union vocabulary: no members");
  UnionVocab v;
  const int K = static_cast<int>(members.size());
  std::unordered_map<std::string, int32_t> index;
  auto intern = [&](const std::string& key, const std::string& bytes, bool special) {
    auto [it, inserted] = index.emplace(key, static_cast<int32_t>(v.bytes_.size()));
    if (inserted) {
      v.bytes_.push_back(bytes);
      v.special_.push_back(special ? 1 : 0);
    }
    return it->second;
  };
  v.eos_ = intern(kEosKey, "", true);
  v.to_union_.resize(K);
  v.first_eos_.assign(K, -1);
  for (int m = 0; m < K; ++m) {
    const Tokenizer& tok = members[m].tokenizer;
    RLAE_CHECK(!members[m].eos_ids.empty(), "union vocabulary: member ", m, " (", tok.source(),
               ") has no end-of-sequence token");
    const int32_t V = tok.vocab_size();
    auto& map = v.to_union_[m];
    map.assign(V, -1);
    for (int32_t id : members[m].eos_ids) {
      RLAE_CHECK(id >= 0 && id < V, "union vocabulary: member ", m, " (", tok.source(), ") EOS id ", id,
                 " outside its vocabulary of ", V);
    }
    v.first_eos_[m] = members[m].eos_ids.front();
    for (int32_t id = 0; id < V; ++id) {
      if (std::find(members[m].eos_ids.begin(), members[m].eos_ids.end(), id) != members[m].eos_ids.end()) {
        map[id] = v.eos_;
        continue;
      }
      if (tok.id_to_token(id).empty() && tok.token_bytes(id).empty()) continue;  // a gap
      if (tok.is_special(id)) {
        map[id] = intern(special_key(tok.id_to_token(id)), tok.id_to_token(id), true);
      } else {
        const std::string& b = tok.token_bytes(id);
        if (b.empty()) continue;
        map[id] = intern(b, b, false);
      }
    }
  }
  const int32_t U = v.size();
  // Text tokens shared by every member: the alignment needs some overlap.
  v.from_union_.assign(K, std::vector<int32_t>(U, -1));
  v.read_.assign(K, std::vector<int32_t>(U, -1));
  v.append_off_.assign(K, std::vector<int32_t>(U + 1, 0));
  v.append_.assign(K, {});
  for (int m = 0; m < K; ++m) {
    const Tokenizer& tok = members[m].tokenizer;
    auto& from = v.from_union_[m];
    std::vector<int32_t> byte_ids(256, -1);  // single-byte tokens, ordinary ones preferred
    for (int32_t id = 0; id < static_cast<int32_t>(v.to_union_[m].size()); ++id) {
      const int32_t u = v.to_union_[m][id];
      if (u < 0) continue;
      if (from[u] < 0) {
        from[u] = id;
      } else if (!v.special_[u] && is_byte_token(tok.id_to_token(from[u])) &&
                 !is_byte_token(tok.id_to_token(id))) {
        // Two ids with the same bytes (a character and its <0xNN> twin): the
        // ordinary token is the one the tokenizer produces.
        from[u] = id;
      }
      if (!v.special_[u] && v.bytes_[u].size() == 1) byte_ids[static_cast<unsigned char>(v.bytes_[u][0])] = from[u];
    }
    if (from[v.eos_] < 0) from[v.eos_] = v.first_eos_[m];
    int64_t lacking = 0;
    for (int32_t u = 0; u < U; ++u) {
      v.append_off_[m][u] = static_cast<int32_t>(v.append_[m].size());
      if (from[u] >= 0) {
        v.read_[m][u] = from[u];
        continue;
      }
      ++lacking;
      // Specials of other members are text to this one.
      const std::vector<int32_t> ids = continuation_ids(tok, v.bytes_[u], byte_ids);
      v.read_[m][u] = ids.empty() ? -1 : ids.front();
      v.append_[m].insert(v.append_[m].end(), ids.begin(), ids.end());
    }
    v.append_off_[m][U] = static_cast<int32_t>(v.append_[m].size());
    RLAE_LOG(debug, "union vocabulary: member ", m, " (", tok.source(), ") lacks ", lacking, " of ", U,
             " union tokens");
  }
  if (K > 1) {
    int64_t shared = 0;
    for (int32_t u = 0; u < U; ++u) {
      if (v.special_[u]) continue;
      bool all = true;
      for (int m = 0; m < K && all; ++m) all = v.from_union_[m][u] >= 0;
      shared += all;
    }
    RLAE_CHECK(shared > 0, "union vocabulary: the members' tokenizers share no text token (",
               members[0].tokenizer.source(), " ...): nothing to ensemble over");
  }
  return v;
}

std::string UnionVocab::cache_key(const std::vector<VocabMember>& members) {
  uint64_t h = fnv1a_bytes(&kFormatVersion, sizeof(kFormatVersion));
  for (const VocabMember& m : members) {
    h = fnv1a(read_file(m.tokenizer.source()), h);
    h = fnv1a_bytes(m.eos_ids.data(), m.eos_ids.size() * sizeof(int32_t), h);
    h = fnv1a("|", h);
  }
  return hex64(h);
}

UnionVocab UnionVocab::load_or_build(const std::vector<VocabMember>& members, const std::string& cache_dir) {
  if (cache_dir.empty()) return build(members);
  const std::string path = cache_dir + "/union-" + cache_key(members) + ".bin";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    try {
      UnionVocab v = UnionVocabIO::load(read_file(path), path);
      RLAE_CHECK(v.num_members() == static_cast<int>(members.size()), path, ": member count differs");
      for (int m = 0; m < v.num_members(); ++m) {
        RLAE_CHECK(static_cast<int32_t>(v.to_union_[m].size()) == members[m].tokenizer.vocab_size(), path,
                   ": vocabulary size of member ", m, " differs");
      }
      RLAE_LOG(debug, "union vocabulary: loaded ", path);
      return v;
    } catch (const Error& e) {
      RLAE_LOG(warn, e.what(), "; rebuilding it");
    }
  }
  UnionVocab v = build(members);
  make_dirs(cache_dir);
  write_file_atomic(path, UnionVocabIO::save(v));
  return v;
}

const std::string& UnionVocab::bytes(int32_t u) const {
  RLAE_CHECK(u >= 0 && u < size(), "union token ", u, " outside [0, ", size(), ")");
  return bytes_[u];
}

bool UnionVocab::is_special(int32_t u) const {
  RLAE_CHECK(u >= 0 && u < size(), "union token ", u, " outside [0, ", size(), ")");
  return special_[u] != 0;
}

const std::vector<int32_t>& UnionVocab::member_to_union(int m) const {
  RLAE_CHECK(m >= 0 && m < num_members(), "member ", m, " outside [0, ", num_members(), ")");
  return to_union_[m];
}
const std::vector<int32_t>& UnionVocab::union_to_member(int m) const {
  RLAE_CHECK(m >= 0 && m < num_members(), "member ", m, " outside [0, ", num_members(), ")");
  return from_union_[m];
}
const std::vector<int32_t>& UnionVocab::read_ids(int m) const {
  RLAE_CHECK(m >= 0 && m < num_members(), "member ", m, " outside [0, ", num_members(), ")");
  return read_[m];
}

std::vector<int32_t> UnionVocab::append_ids(int m, int32_t u) const {
  const auto& from = union_to_member(m);
  RLAE_CHECK(u >= 0 && u < size(), "union token ", u, " outside [0, ", size(), ")");
  if (from[u] >= 0) return {from[u]};
  const auto& off = append_off_[m];
  return {append_[m].begin() + off[u], append_[m].begin() + off[u + 1]};
}

int64_t UnionVocab::missing(int m) const {
  const auto& from = union_to_member(m);
  return std::count(from.begin(), from.end(), -1);
}

bool UnionVocab::operator==(const UnionVocab& o) const {
  return bytes_ == o.bytes_ && special_ == o.special_ && eos_ == o.eos_ && to_union_ == o.to_union_ &&
         from_union_ == o.from_union_ && read_ == o.read_ && append_off_ == o.append_off_ &&
         append_ == o.append_ && first_eos_ == o.first_eos_;
}

}  // namespace rlae
