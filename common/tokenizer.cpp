// Hugging Face tokenizer.json, re-implemented after the `tokenizers` library
// (0.20): added-token extraction, normalizers, pre-tokenizers, the BPE model,
// post-processor templates and decoders. Each stage follows the library's
// semantics closely enough that ids and decoded text are identical; the parity
// test (tests/parity/test_tokenizer_parity.cpp) pins that against the library.
#include "common/tokenizer.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/regex.h"
#include "common/unicode.h"

namespace rlae {
namespace {

using json = nlohmann::json;
using unicode::utf8_append;
using unicode::utf8_next;

// Largest id accepted in a vocabulary: far above any real tokenizer, low enough
// that a hostile file cannot make us allocate gigabytes.
constexpr int64_t kMaxTokenId = (int64_t{1} << 22) - 1;
constexpr int kMaxNesting = 16;

const char* const kMetaspaceChar = "\xE2\x96\x81";  // U+2581 "▁"

// The pattern of the ByteLevel pre-tokenizer (use_regex), as tokenizers compiles it.
const char* const kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const Regex& byte_level_regex() {
  static const Regex re = Regex::compile(kByteLevelPattern);  // the GPT-2 fast path
  return re;
}

// ---------------------------------------------------------------------------
// Byte-level alphabet (GPT-2): every byte has a printable stand-in character.
// ---------------------------------------------------------------------------
struct ByteAlphabet {
  std::array<char32_t, 256> byte_to_char{};
  std::array<int16_t, 0x144> char_to_byte{};  // -1: not a byte character

  ByteAlphabet() {
    char_to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      byte_to_char[b] = printable ? char32_t(b) : char32_t(256 + extra++);
      char_to_byte[byte_to_char[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}


// The bytes that byte-level characters stand for; nullopt when some character is
// not one of them.
std::optional<std::string> byte_level_to_bytes(std::string_view s) {
  const auto& a = byte_alphabet();
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char32_t c = utf8_next(s, i);
    if (c >= a.char_to_byte.size() || a.char_to_byte[c] < 0) return std::nullopt;
    out.push_back(static_cast<char>(a.char_to_byte[c]));
  }
  return out;
}

std::string replace_all(std::string_view s, std::string_view pattern, std::string_view with) {
  std::string out;
  if (pattern.empty()) return std::string(s);
  std::size_t pos = 0;
  while (true) {
    const std::size_t hit = s.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(with);
    pos = hit + pattern.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Decoded characters of a string with their byte offsets (offsets[n] = size).
struct Chars {
  std::vector<char32_t> cp;
  std::vector<std::size_t> offset;

  explicit Chars(std::string_view s) {
    cp.reserve(s.size());
    offset.reserve(s.size() + 1);
    for (std::size_t i = 0; i < s.size();) {
      offset.push_back(i);
      cp.push_back(utf8_next(s, i));
    }
    offset.push_back(s.size());
  }
  std::size_t size() const { return cp.size(); }
};

// ---------------------------------------------------------------------------
// Splitting (NormalizedString::split and its delimiter behaviors)
// ---------------------------------------------------------------------------
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Span {
  std::size_t begin, end;
  bool match;
};

// Spans covering [0, size) from sorted, non-overlapping match intervals.
std::vector<Span> spans_from_matches(const std::vector<std::pair<std::size_t, std::size_t>>& m,
                                     std::size_t size) {
  std::vector<Span> spans;
  if (size == 0) return {{0, 0, false}};
  std::size_t prev = 0;
  for (const auto& [b, e] : m) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != size) spans.push_back({prev, size, false});
  return spans;
}

// Byte ranges kept by a split with the given behavior.
std::vector<std::pair<std::size_t, std::size_t>> apply_behavior(const std::vector<Span>& spans,
                                                                Behavior behavior) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Isolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::Removed:
      for (const Span& s : spans)
        if (!s.match) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::Contiguous:
      for (const Span& s : spans) {
        if (s.match == previous_match && !out.empty())
          out.back().second = s.end;
        else
          out.emplace_back(s.begin, s.end);
        previous_match = s.match;
      }
      break;
    case Behavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.match && !previous_match && !out.empty())
          out.back().second = s.end;
        else
          out.emplace_back(s.begin, s.end);
        previous_match = s.match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !out.empty())
          out.back().first = it->begin;
        else
          out.emplace_back(it->begin, it->end);
        previous_match = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  return out;
}

// Spans where each character satisfying pred is a match of its own.
template <typename Pred>
std::vector<Span> char_spans(std::string_view s, Pred pred) {
  std::vector<std::pair<std::size_t, std::size_t>> m;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t b = i;
    if (pred(utf8_next(s, i))) m.emplace_back(b, i);
  }
  return spans_from_matches(m, s.size());
}

std::vector<Span> literal_spans(std::string_view s, std::string_view pattern) {
  std::vector<std::pair<std::size_t, std::size_t>> m;
  if (!pattern.empty()) {
    for (std::size_t pos = s.find(pattern); pos != std::string_view::npos;
         pos = s.find(pattern, pos + pattern.size()))
      m.emplace_back(pos, pos + pattern.size());
  }
  return spans_from_matches(m, s.size());
}

inline bool is_space(char32_t c) { return unicode::is_whitespace(c); }

std::vector<Span> regex_spans(std::string_view s, const Regex& re) {
  std::vector<RegexMatch> found;
  re.find_all(s, found);
  std::vector<std::pair<std::size_t, std::size_t>> m;
  m.reserve(found.size());
  for (const RegexMatch& x : found) m.emplace_back(x.begin, x.end);
  return spans_from_matches(m, s.size());
}

std::vector<Span> whitespace_spans(std::string_view s) {
  std::vector<RegexMatch> found;
  find_whitespace_words(s, found);
  std::vector<std::pair<std::size_t, std::size_t>> m;
  m.reserve(found.size());
  for (const RegexMatch& x : found) m.emplace_back(x.begin, x.end);
  return spans_from_matches(m, s.size());
}

// NormalizedString::replace: every match (empty ones too) replaced by `with`.
std::string regex_replace(std::string_view s, const Regex& re, std::string_view with) {
  std::vector<RegexMatch> found;
  re.find_all(s, found);
  if (found.empty()) return std::string(s);
  std::string out;
  std::size_t last = 0;
  for (const RegexMatch& x : found) {
    out.append(s.substr(last, x.begin - last));
    out.append(with);
    last = x.end;
  }
  out.append(s.substr(last));
  return out;
}

// ---------------------------------------------------------------------------
// Pipeline pieces
// ---------------------------------------------------------------------------
struct Piece {
  std::string text;
  int32_t id = -1;        // an added token already resolved, or -1
  bool at_start = false;  // begins at offset 0 of the original text
};

// Replaces each unresolved piece by the pieces fn returns for it; drops empty ones.
template <typename Fn>
void split_pieces(std::vector<Piece>& pieces, Fn fn) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    for (Piece& q : fn(p))
      if (!q.text.empty() || q.id >= 0) out.push_back(std::move(q));
  }
  pieces = std::move(out);
}

std::vector<Piece> slice_piece(const Piece& p, const std::vector<Span>& spans, Behavior behavior) {
  std::vector<Piece> out;
  for (const auto& [b, e] : apply_behavior(spans, behavior))
    out.push_back({p.text.substr(b, e - b), -1, p.at_start && b == 0});
  return out;
}

// ---------------------------------------------------------------------------
// Normalizers
// ---------------------------------------------------------------------------
struct Normalizer {
  enum Kind { Prepend, Replace, Strip, Nfc } kind;
  std::string a, b;  // Prepend: a = text; Replace: a -> b
  bool left = false, right = false;
  std::optional<Regex> regex;  // Replace: the matches of a regex (else the string a)

  void apply(std::string& s) const {
    switch (kind) {
      case Prepend:
        if (!s.empty()) s.insert(0, a);
        break;
      case Replace:
        s = regex ? regex_replace(s, *regex, b) : replace_all(s, a, b);
        break;
      case Strip: {
        const Chars chars(s);
        std::size_t lo = 0, hi = chars.size();
        if (left)
          while (lo < hi && is_space(chars.cp[lo])) ++lo;
        if (right)
          while (hi > lo && is_space(chars.cp[hi - 1])) --hi;
        s = s.substr(chars.offset[lo], chars.offset[hi] - chars.offset[lo]);
        break;
      }
      case Nfc:
        s = unicode::nfc(s);
        break;
    }
  }
};

// ---------------------------------------------------------------------------
// Pre-tokenizers
// ---------------------------------------------------------------------------
enum class PrependScheme { Always, First, Never };

struct PreTokenizer {
  enum Kind { ByteLevel, Split, Whitespace, Metaspace, Digits, WhitespaceSplit } kind;
  // ByteLevel
  bool add_prefix_space = false, use_regex = true;
  // Split
  std::optional<Regex> regex;  // else the literal `pattern`
  std::string pattern;
  Behavior behavior = Behavior::Isolated;
  bool invert = false;
  // Metaspace
  char32_t replacement = 0x2581;
  std::string replacement_str = kMetaspaceChar;
  PrependScheme prepend = PrependScheme::Always;
  bool split = true;
  // Digits
  bool individual_digits = false;

  void apply(std::vector<Piece>& pieces) const {
    switch (kind) {
      case ByteLevel:
        split_pieces(pieces, [&](Piece& p) {
          if (add_prefix_space && p.text[0] != ' ') p.text.insert(0, " ");
          std::vector<Piece> parts;
          if (use_regex)
            parts = slice_piece(p, regex_spans(p.text, byte_level_regex()), Behavior::Isolated);
          else
            parts.push_back(p);
          for (Piece& q : parts) q.text = bytes_to_byte_level(q.text);
          return parts;
        });
        break;
      case Split:
        split_pieces(pieces, [&](Piece& p) {
          std::vector<Span> spans =
              regex ? regex_spans(p.text, *regex) : literal_spans(p.text, pattern);
          if (invert)
            for (Span& s : spans) s.match = !s.match;
          return slice_piece(p, spans, behavior);
        });
        break;
      case Whitespace:
        split_pieces(pieces, [&](Piece& p) {
          std::vector<Span> spans = whitespace_spans(p.text);
          for (Span& s : spans) s.match = !s.match;
          return slice_piece(p, spans, Behavior::Removed);
        });
        break;
      case Metaspace:
        split_pieces(pieces, [&](Piece& p) {
          p.text = replace_all(p.text, " ", replacement_str);
          const bool starts = p.text.compare(0, replacement_str.size(), replacement_str) == 0;
          if (!starts && (prepend == PrependScheme::Always ||
                          (prepend == PrependScheme::First && p.at_start)))
            p.text.insert(0, replacement_str);
          if (!split) return std::vector<Piece>{p};
          const char32_t r = replacement;
          return slice_piece(p, char_spans(p.text, [r](char32_t c) { return c == r; }),
                             Behavior::MergedWithNext);
        });
        break;
      case Digits:
        split_pieces(pieces, [&](Piece& p) {
          return slice_piece(p, char_spans(p.text, unicode::is_number),
                             individual_digits ? Behavior::Isolated : Behavior::Contiguous);
        });
        break;
      case WhitespaceSplit:
        split_pieces(pieces, [&](Piece& p) {
          return slice_piece(p, char_spans(p.text, unicode::is_whitespace), Behavior::Removed);
        });
        break;
    }
  }
};

// ---------------------------------------------------------------------------
// Decoders
// ---------------------------------------------------------------------------
struct Decoder {
  enum Kind { ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BpeSuffix } kind;
  std::string a, b;  // Replace: a -> b; BpeSuffix: a = suffix; Metaspace: a = replacement
  char32_t ch = 0;   // Strip content, Metaspace replacement
  std::size_t start = 0, stop = 0;
  PrependScheme prepend = PrependScheme::Always;
  std::optional<Regex> regex;  // Replace: the matches of a regex (else the string a)

  static std::optional<uint8_t> byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int lo = hex(t[4]);
    if (lo < 0) return std::nullopt;
    if (t[3] == '+') return static_cast<uint8_t>(lo);  // Rust's from_str_radix takes a sign
    const int hi = hex(t[3]);
    if (hi < 0) return std::nullopt;
    return static_cast<uint8_t>(hi * 16 + lo);
  }

  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const {
    switch (kind) {
      case ByteLevel: {
        std::string bytes;
        for (const std::string& t : tokens) {
          if (auto b = byte_level_to_bytes(t))
            bytes += *b;
          else
            bytes += t;
        }
        return {unicode::utf8_lossy(bytes)};
      }
      case Metaspace:
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          std::string out;
          const std::string& t = tokens[i];
          for (std::size_t k = 0; k < t.size();) {
            const std::size_t b = k;
            const char32_t c = utf8_next(t, k);
            if (c == ch) {
              if (!(i == 0 && prepend != PrependScheme::Never)) out.push_back(' ');
            } else {
              out.append(t, b, k - b);
            }
          }
          tokens[i] = std::move(out);
        }
        return tokens;
      case Replace:
        for (std::string& t : tokens) t = regex ? regex_replace(t, *regex, b) : replace_all(t, a, b);
        return tokens;
      case ByteFallback: {
        std::vector<std::string> out;
        std::string pending;
        auto flush = [&] {
          if (pending.empty()) return;
          if (unicode::utf8_is_valid(pending)) {
            out.push_back(pending);
          } else {
            for (std::size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
          }
          pending.clear();
        };
        for (std::string& t : tokens) {
          if (auto byte = byte_token(t)) {
            pending.push_back(static_cast<char>(*byte));
          } else {
            flush();
            out.push_back(std::move(t));
          }
        }
        flush();
        return out;
      }
      case Fuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        return {all};
      }
      case Strip:
        for (std::string& t : tokens) {
          const Chars chars(t);
          std::size_t lo = 0, hi = chars.size();
          for (std::size_t k = 0; k < start && k < chars.size() && chars.cp[k] == ch; ++k) lo = k + 1;
          for (std::size_t k = 0; k < stop && k < chars.size(); ++k) {
            const std::size_t idx = chars.size() - k - 1;
            if (chars.cp[idx] != ch) break;
            hi = idx;
          }
          if (hi < lo) hi = lo;
          t = t.substr(chars.offset[lo], chars.offset[hi] - chars.offset[lo]);
        }
        return tokens;
      case BpeSuffix:
        for (std::size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = replace_all(tokens[i], a, i + 1 == tokens.size() ? "" : " ");
        return tokens;
    }
    return tokens;
  }

  // This step's effect on one token taken alone: the byte string it stands for.
  void token_bytes(std::string& t) const {
    switch (kind) {
      case ByteLevel:
        if (auto b = byte_level_to_bytes(t)) t = *b;
        break;
      case Metaspace:
        t = replace_all(t, a, " ");
        break;
      case Replace:
        t = regex ? regex_replace(t, *regex, b) : replace_all(t, a, b);
        break;
      case ByteFallback:
        if (auto byte = byte_token(t)) t = std::string(1, static_cast<char>(*byte));
        break;
      case BpeSuffix:
        t = replace_all(t, a, " ");
        break;
      case Fuse:
      case Strip:
        break;
    }
  }
};

// ---------------------------------------------------------------------------
// BPE model
// ---------------------------------------------------------------------------
struct Bpe {
  std::unordered_map<std::string, int32_t> vocab;
  std::size_t vocab_entries = 0;
  struct MergeInfo {
    uint32_t rank;
    int32_t id;
  };
  std::unordered_map<uint64_t, MergeInfo> merges;
  std::optional<std::string> unk_token;
  std::optional<std::string> prefix, suffix;  // continuing_subword_prefix, end_of_word_suffix
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::array<int32_t, 256> byte_ids{};  // "<0xNN>" ids, -1 if absent

  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  std::optional<int32_t> find(const std::string& s) const {
    auto it = vocab.find(s);
    if (it == vocab.end()) return std::nullopt;
    return it->second;
  }

  // Merges the characters of `word` (BPE::merge_word + Word::merge_all).
  void tokenize(const std::string& w, std::vector<int32_t>& out) const {
    if (w.empty()) return;
    if (ignore_merges) {
      if (auto id = find(w)) {
        out.push_back(*id);
        return;
      }
    }
    struct Symbol {
      int32_t id;
      int prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(w.size());
    int32_t unk = -1;  // pending unknown token (fused), -1 if none
    auto add = [&](int32_t id) {
      const int n = static_cast<int>(sym.size());
      sym.push_back({id, n - 1, n + 1, true});
    };
    std::string s;
    for (std::size_t i = 0; i < w.size();) {
      const std::size_t b = i;
      utf8_next(w, i);
      const bool first = b == 0, last = i == w.size();
      s.assign(w, b, i - b);
      if (!first && prefix) s.insert(0, *prefix);
      if (last && suffix) s += *suffix;
      if (auto id = find(s)) {
        if (unk >= 0) {
          add(unk);
          unk = -1;
        }
        add(*id);
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (char c : s) all = all && byte_ids[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (char c : s) add(byte_ids[static_cast<unsigned char>(c)]);
          continue;
        }
      }
      if (unk_token) {
        const int32_t unk_id = vocab.at(*unk_token);  // checked at load
        if (unk >= 0 && !fuse_unk) add(unk);
        if (unk < 0 || !fuse_unk) unk = unk_id;
      }
    }
    if (unk >= 0) add(unk);
    if (!sym.empty()) sym.back().next = -1;

    struct Merge {
      uint32_t rank;
      int pos;
      int32_t new_id;
      bool operator<(const Merge& o) const {  // max-heap: lowest rank, then leftmost
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Merge> queue;
    auto push_pair = [&](int pos) {
      const int next = sym[pos].next;
      if (next < 0) return;
      auto it = merges.find(key(sym[pos].id, sym[next].id));
      if (it != merges.end()) queue.push({it->second.rank, pos, it->second.id});
    };
    if (!merges.empty())
      for (int k = 0; k + 1 < static_cast<int>(sym.size()); ++k) push_pair(k);
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& left = sym[top.pos];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = sym[left.next];
      auto it = merges.find(key(left.id, right.id));
      if (it == merges.end() || it->second.id != top.new_id) continue;  // stale entry
      left.id = top.new_id;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) sym[left.next].prev = top.pos;
      if (left.prev >= 0) push_pair(left.prev);
      push_pair(top.pos);
    }
    for (const Symbol& x : sym)
      if (x.alive) out.push_back(x.id);
  }
};

// ---------------------------------------------------------------------------
// Added tokens (AddedVocabulary): leftmost-longest matching over a byte trie.
// ---------------------------------------------------------------------------
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false, single_word = false, lstrip = false, rstrip = false, normalized = true;
  bool same_as(const AddedToken& o) const {
    return content == o.content && special == o.special && single_word == o.single_word &&
           lstrip == o.lstrip && rstrip == o.rstrip && normalized == o.normalized;
  }
};

class Trie {
 public:
  void add(std::string_view pattern, int32_t id) {
    int node = 0;
    for (char c : pattern) {
      const auto b = static_cast<unsigned char>(c);
      int child = -1;
      for (const auto& [cb, ci] : nodes_[node].children)
        if (cb == b) child = ci;
      if (child < 0) {
        child = static_cast<int>(nodes_.size());
        nodes_[node].children.emplace_back(b, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    if (nodes_[node].id < 0) nodes_[node].id = id;
  }
  bool empty() const { return nodes_.size() == 1; }
  // Longest pattern starting at s[pos]: (length, id), length 0 when none.
  std::pair<std::size_t, int32_t> longest(std::string_view s, std::size_t pos) const {
    std::pair<std::size_t, int32_t> best{0, -1};
    int node = 0;
    for (std::size_t i = pos; i < s.size(); ++i) {
      const auto b = static_cast<unsigned char>(s[i]);
      int child = -1;
      for (const auto& [cb, ci] : nodes_[node].children)
        if (cb == b) {
          child = ci;
          break;
        }
      if (child < 0) break;
      node = child;
      if (nodes_[node].id >= 0) best = {i + 1 - pos, nodes_[node].id};
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> children;
    int32_t id = -1;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

// ---------------------------------------------------------------------------
// Post-processor: the ids around the sequence (single-sequence template).
// ---------------------------------------------------------------------------
struct TemplateItem {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};

}  // namespace

std::string bytes_to_byte_level(std::string_view s) {
  const auto& a = byte_alphabet();
  std::string out;
  out.reserve(s.size() * 2);
  for (char b : s) utf8_append(out, a.byte_to_char[static_cast<unsigned char>(b)]);
  return out;
}

std::string byte_fallback_token(unsigned char b) {
  static const char* hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

// ---------------------------------------------------------------------------
// Tokenizer::Impl
// ---------------------------------------------------------------------------
struct Tokenizer::Impl {
  std::string source;
  std::vector<Normalizer> normalizers;
  std::vector<PreTokenizer> pre_tokenizers;
  std::vector<Decoder> decoders;
  bool has_decoder = false;
  std::optional<std::vector<TemplateItem>> single_template;
  Bpe model;

  std::vector<AddedToken> added;                        // by order of definition
  std::unordered_map<std::string, int32_t> added_ids;  // content -> id
  std::unordered_map<int32_t, std::size_t> added_by_id;  // id -> index in `added`
  std::unordered_map<std::string, bool> special_contents;
  Trie raw_trie, normalized_trie;

  std::vector<std::string> tokens;  // id -> token string ("" in gaps)
  std::vector<std::string> bytes;   // id -> raw bytes
  std::vector<bool> present;        // id -> some token has this id
  std::vector<bool> special;        // id -> special added token

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;
  static constexpr std::size_t kCacheLimit = 1 << 16;
  static constexpr std::size_t kCacheWordLimit = 256;

  void normalize(std::string& s) const {
    for (const Normalizer& n : normalizers) n.apply(s);
  }

  // AddedVocabulary::find_matches: pieces of `p` split around added tokens.
  std::vector<Piece> split_added(const Piece& p, const Trie& trie) const {
    const std::string& s = p.text;
    if (trie.empty() || s.empty()) return {p};
    std::vector<Piece> out;
    std::size_t start_offset = 0;
    for (std::size_t pos = 0; pos < s.size();) {
      const auto [len, id] = trie.longest(s, pos);
      if (len == 0) {
        ++pos;
        continue;
      }
      std::size_t start = pos, stop = pos + len;
      pos = stop;
      const AddedToken& tok = added[added_by_id.at(id)];
      if (tok.single_word) {
        bool start_space = true, stop_space = true;
        if (start > 0) {
          // the character that ends s[..start]
          std::size_t b = start - 1;
          while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
          std::size_t k = b;
          start_space = !unicode::is_word(utf8_next(s, k));
        }
        if (stop < s.size()) {
          std::size_t k = stop;
          stop_space = !unicode::is_word(utf8_next(s, k));
        }
        if (!start_space || !stop_space) continue;
      }
      if (tok.lstrip) {
        std::size_t b = start;
        while (b > 0) {
          std::size_t c = b - 1;
          while (c > 0 && (static_cast<unsigned char>(s[c]) & 0xC0) == 0x80) --c;
          std::size_t k = c;
          if (!is_space(utf8_next(s, k))) break;
          b = c;
        }
        start = std::max(b, start_offset);
      }
      if (tok.rstrip) {
        std::size_t k = stop;
        while (k < s.size()) {
          std::size_t next = k;
          if (!is_space(utf8_next(s, next))) break;
          k = next;
        }
        stop = k;
      }
      if (start_offset < start)
        out.push_back({s.substr(start_offset, start - start_offset), -1,
                       p.at_start && start_offset == 0});
      out.push_back({s.substr(start, stop - start), id, false});
      start_offset = stop;
    }
    if (start_offset != s.size())
      out.push_back({s.substr(start_offset), -1, p.at_start && start_offset == 0});
    return out;
  }

  void model_tokenize(const std::string& word, std::vector<int32_t>& out) const {
    if (word.size() > kCacheWordLimit) {
      model.tokenize(word, out);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> ids;
    model.tokenize(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kCacheLimit) cache.clear();
    cache.emplace(word, std::move(ids));
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const {
    std::vector<Piece> pieces{{std::string(text), -1, true}};
    split_pieces(pieces, [&](Piece& p) { return split_added(p, raw_trie); });
    split_pieces(pieces, [&](Piece& p) {
      normalize(p.text);
      return split_added(p, normalized_trie);
    });
    for (const PreTokenizer& pt : pre_tokenizers) pt.apply(pieces);

    std::vector<int32_t> ids;
    for (const Piece& p : pieces) {
      if (p.id >= 0)
        ids.push_back(p.id);
      else
        model_tokenize(p.text, ids);
    }
    if (!add_special_tokens || !single_template) return ids;
    std::vector<int32_t> out;
    for (const TemplateItem& item : *single_template) {
      if (item.is_sequence)
        out.insert(out.end(), ids.begin(), ids.end());
      else
        out.insert(out.end(), item.ids.begin(), item.ids.end());
    }
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::vector<std::string> toks;
    toks.reserve(ids.size());
    for (int32_t id : ids) {
      if (id < 0 || id >= static_cast<int32_t>(tokens.size())) continue;
      if (!present[id]) continue;  // a gap in the vocabulary
      if (skip_special && special_contents.count(tokens[id])) continue;
      toks.push_back(tokens[id]);
    }
    if (!has_decoder) {
      std::string out;
      for (std::size_t i = 0; i < toks.size(); ++i) {
        if (i) out += ' ';
        out += toks[i];
      }
      return out;
    }
    for (const Decoder& d : decoders) toks = d.decode_chain(std::move(toks));
    std::string out;
    for (const std::string& t : toks) out += t;
    return out;
  }
};

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------
namespace {

class Loader {
 public:
  explicit Loader(const std::string& file) : file_(file) {}

  // One line: control characters from the file are escaped. Messages put what is
  // wrong first and the quoted content after it; only a huge one (a hostile file) is
  // cut, and says by how much.
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    std::string msg = where.empty() ? what : where + ": " + what;
    constexpr std::size_t kMaxMessage = 16384;
    if (msg.size() > kMaxMessage) {
      std::size_t cut = kMaxMessage;
      while (cut > 0 && (static_cast<unsigned char>(msg[cut]) & 0xC0) == 0x80) --cut;
      msg = msg.substr(0, cut) + "... (" + std::to_string(msg.size() - cut) + " more bytes)";
    }
    std::string clean;
    for (char c : msg) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        static const char* hex = "0123456789abcdef";
        clean += "\\x";
        clean += hex[(c >> 4) & 15];
        clean += hex[c & 15];
      } else {
        clean += c;
      }
    }
    RLAE_FAIL("tokenizer.json ", file_, ": ", clean);
  }

  static const char* type_name(const json& v) { return v.type_name(); }

  // Field `key` of object `obj`, or nullptr when absent or null.
  const json* opt(const json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }
  const json& req(const json& obj, const char* key, const std::string& where) const {
    const json* v = opt(obj, key);
    if (!v) fail(where, std::string("missing field \"") + key + "\"");
    return *v;
  }
  const json& object(const json& v, const std::string& where) const {
    if (!v.is_object()) fail(where, std::string("expected an object, found ") + type_name(v));
    return v;
  }
  const json& array(const json& v, const std::string& where) const {
    if (!v.is_array()) fail(where, std::string("expected an array, found ") + type_name(v));
    return v;
  }
  std::string str(const json& v, const std::string& where) const {
    if (!v.is_string()) fail(where, std::string("expected a string, found ") + type_name(v));
    return v.get<std::string>();
  }
  bool boolean(const json& obj, const char* key, bool dflt, const std::string& where) const {
    const json* v = opt(obj, key);
    if (!v) return dflt;
    if (!v->is_boolean())
      fail(where + "." + key, std::string("expected true or false, found ") + type_name(*v));
    return v->get<bool>();
  }
  int64_t integer(const json& v, int64_t lo, int64_t hi, const std::string& where) const {
    if (!v.is_number_integer())
      fail(where, std::string("expected an integer, found ") + type_name(v));
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)
                          ? INT64_MAX
                          : v.get<int64_t>();
    if (x < lo || x > hi)
      fail(where, "value " + std::to_string(x) + " out of range [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
    return x;
  }
  std::string type(const json& obj, const std::string& where) const {
    object(obj, where);
    return str(req(obj, "type", where), where + ".type");
  }
  char32_t single_char(const std::string& s, const std::string& where) const {
    std::size_t i = 0;
    const char32_t c = s.empty() ? 0 : utf8_next(s, i);
    if (s.empty() || i != s.size() || unicode::is_invalid_byte(c))
      fail(where, "expected a single character, found \"" + s + "\"");
    return c;
  }
  // A compiled regex; the failure names Oniguruma's complaint first, then the pattern.
  Regex regex(const std::string& pattern, const std::string& where) const {
    try {
      return Regex::compile(pattern);
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }
  // {"String": "..."} or {"Regex": "..."}: the string, or the compiled regex.
  std::string string_pattern(const json& v, const std::string& where,
                             std::optional<Regex>& re) const {
    object(v, where);
    if (const json* s = opt(v, "String")) {
      std::string p = str(*s, where + ".String");
      if (p.empty()) fail(where, "empty pattern");
      return p;
    }
    if (const json* r = opt(v, "Regex")) {
      std::string p = str(*r, where + ".Regex");
      re = regex(p, where + ".Regex");
      return p;
    }
    fail(where, "expected {\"String\": ...} or {\"Regex\": ...}");
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

Behavior parse_behavior(const Loader& L, const json& v, const std::string& where) {
  const std::string b = L.str(v, where);
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  L.fail(where, "unknown split behavior \"" + b + "\"");
}

PrependScheme parse_prepend_scheme(const Loader& L, const json& obj, const std::string& where) {
  PrependScheme scheme = PrependScheme::Always;
  if (const json* v = L.opt(obj, "prepend_scheme")) {
    const std::string s = L.str(*v, where + ".prepend_scheme");
    if (s == "always")
      scheme = PrependScheme::Always;
    else if (s == "first")
      scheme = PrependScheme::First;
    else if (s == "never")
      scheme = PrependScheme::Never;
    else
      L.fail(where + ".prepend_scheme", "expected \"always\", \"first\" or \"never\", found \"" +
                                            s + "\"");
  }
  if (const json* v = L.opt(obj, "add_prefix_space")) {
    if (!v->is_boolean()) L.fail(where + ".add_prefix_space", "expected true or false");
    if (!v->get<bool>()) {
      if (scheme != PrependScheme::Never && L.opt(obj, "prepend_scheme"))
        L.fail(where, "add_prefix_space does not match declared prepend_scheme");
      scheme = PrependScheme::Never;
    }
  }
  return scheme;
}

void parse_normalizer(const Loader& L, const json& v, const std::string& where, int depth,
                      std::vector<Normalizer>& out) {
  if (depth > kMaxNesting) L.fail(where, "normalizers nested too deeply");
  const std::string type = L.type(v, where);
  if (type == "Sequence") {
    const json& list = L.array(L.req(v, "normalizers", where), where + ".normalizers");
    for (std::size_t i = 0; i < list.size(); ++i)
      parse_normalizer(L, list[i], where + ".normalizers[" + std::to_string(i) + "]", depth + 1,
                       out);
  } else if (type == "Prepend") {
    Normalizer n{};
    n.kind = Normalizer::Prepend;
    n.a = L.str(L.req(v, "prepend", where), where + ".prepend");
    out.push_back(n);
  } else if (type == "Replace") {
    Normalizer n{};
    n.kind = Normalizer::Replace;
    n.a = L.string_pattern(L.req(v, "pattern", where), where + ".pattern", n.regex);
    n.b = L.str(L.req(v, "content", where), where + ".content");
    out.push_back(n);
  } else if (type == "Strip") {
    Normalizer n{};
    n.kind = Normalizer::Strip;
    n.left = L.boolean(v, "strip_left", true, where);
    n.right = L.boolean(v, "strip_right", true, where);
    out.push_back(n);
  } else if (type == "NFC") {
    Normalizer n{};
    n.kind = Normalizer::Nfc;
    out.push_back(n);
  } else {
    L.fail(where, "unsupported normalizer type \"" + type +
                      "\" (supported: Sequence, Prepend, Replace, Strip, NFC)");
  }
}

void parse_pre_tokenizer(const Loader& L, const json& v, const std::string& where, int depth,
                         std::vector<PreTokenizer>& out) {
  if (depth > kMaxNesting) L.fail(where, "pre-tokenizers nested too deeply");
  const std::string type = L.type(v, where);
  PreTokenizer p{};
  if (type == "Sequence") {
    const json& list = L.array(L.req(v, "pretokenizers", where), where + ".pretokenizers");
    for (std::size_t i = 0; i < list.size(); ++i)
      parse_pre_tokenizer(L, list[i], where + ".pretokenizers[" + std::to_string(i) + "]",
                          depth + 1, out);
    return;
  } else if (type == "ByteLevel") {
    p.kind = PreTokenizer::ByteLevel;
    p.add_prefix_space = L.boolean(v, "add_prefix_space", true, where);
    p.use_regex = L.boolean(v, "use_regex", true, where);
  } else if (type == "Split") {
    p.kind = PreTokenizer::Split;
    const json& pat = L.object(L.req(v, "pattern", where), where + ".pattern");
    if (const json* r = L.opt(pat, "Regex")) {
      p.regex = L.regex(L.str(*r, where + ".pattern.Regex"), where + ".pattern.Regex");
    } else if (const json* s = L.opt(pat, "String")) {
      p.pattern = L.str(*s, where + ".pattern.String");
    } else {
      L.fail(where + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    p.behavior = parse_behavior(L, L.req(v, "behavior", where), where + ".behavior");
    p.invert = L.boolean(v, "invert", false, where);
  } else if (type == "Metaspace") {
    p.kind = PreTokenizer::Metaspace;
    p.replacement_str = L.str(L.req(v, "replacement", where), where + ".replacement");
    p.replacement = L.single_char(p.replacement_str, where + ".replacement");
    p.prepend = parse_prepend_scheme(L, v, where);
    p.split = L.boolean(v, "split", true, where);
  } else if (type == "Digits") {
    p.kind = PreTokenizer::Digits;
    p.individual_digits = L.boolean(v, "individual_digits", false, where);
  } else if (type == "WhitespaceSplit") {
    p.kind = PreTokenizer::WhitespaceSplit;
  } else if (type == "Whitespace") {
    p.kind = PreTokenizer::Whitespace;
  } else {
    L.fail(where, "unsupported pre-tokenizer type \"" + type +
                      "\" (supported: Sequence, ByteLevel, Split, Metaspace, Digits, "
                      "Whitespace, WhitespaceSplit)");
  }
  out.push_back(p);
}

void parse_decoder(const Loader& L, const json& v, const std::string& where, int depth,
                   std::vector<Decoder>& out) {
  if (depth > kMaxNesting) L.fail(where, "decoders nested too deeply");
  const std::string type = L.type(v, where);
  Decoder d{};
  if (type == "Sequence") {
    const json& list = L.array(L.req(v, "decoders", where), where + ".decoders");
    for (std::size_t i = 0; i < list.size(); ++i)
      parse_decoder(L, list[i], where + ".decoders[" + std::to_string(i) + "]", depth + 1, out);
    return;
  } else if (type == "ByteLevel") {
    d.kind = Decoder::ByteLevel;
  } else if (type == "Metaspace") {
    d.kind = Decoder::Metaspace;
    d.a = L.str(L.req(v, "replacement", where), where + ".replacement");
    d.ch = L.single_char(d.a, where + ".replacement");
    d.prepend = parse_prepend_scheme(L, v, where);
  } else if (type == "Replace") {
    d.kind = Decoder::Replace;
    d.a = L.string_pattern(L.req(v, "pattern", where), where + ".pattern", d.regex);
    d.b = L.str(L.req(v, "content", where), where + ".content");
  } else if (type == "ByteFallback") {
    d.kind = Decoder::ByteFallback;
  } else if (type == "Fuse") {
    d.kind = Decoder::Fuse;
  } else if (type == "Strip") {
    d.kind = Decoder::Strip;
    d.ch = L.single_char(L.str(L.req(v, "content", where), where + ".content"),
                         where + ".content");
    d.start = static_cast<std::size_t>(L.integer(L.req(v, "start", where), 0, 1 << 20,
                                                 where + ".start"));
    d.stop = static_cast<std::size_t>(L.integer(L.req(v, "stop", where), 0, 1 << 20,
                                                where + ".stop"));
  } else if (type == "BPEDecoder") {
    d.kind = Decoder::BpeSuffix;
    d.a = "</w>";
    if (const json* s = L.opt(v, "suffix")) d.a = L.str(*s, where + ".suffix");
  } else {
    L.fail(where, "unsupported decoder type \"" + type +
                      "\" (supported: ByteLevel, Metaspace, Sequence, Replace, ByteFallback, "
                      "Fuse, Strip, BPEDecoder)");
  }
  out.push_back(d);
}

// Resolves a post-processor into the single-sequence template (left unset when
// it adds nothing, as ByteLevel).
void parse_post_processor(const Loader& L, const json& v,
                          const std::string& where, int depth,
                          std::optional<std::vector<TemplateItem>>& tmpl) {
  if (depth > kMaxNesting) L.fail(where, "post-processors nested too deeply");
  const std::string type = L.type(v, where);
  auto wrap = [&](std::vector<TemplateItem> items) {
    // A later processor applies to the output of an earlier one.
    if (!tmpl) {
      tmpl = std::move(items);
      return;
    }
    std::vector<TemplateItem> merged;
    for (TemplateItem& it : items) {
      if (it.is_sequence)
        merged.insert(merged.end(), tmpl->begin(), tmpl->end());
      else
        merged.push_back(std::move(it));
    }
    tmpl = std::move(merged);
  };
  if (type == "Sequence") {
    const json& list = L.array(L.req(v, "processors", where), where + ".processors");
    for (std::size_t i = 0; i < list.size(); ++i)
      parse_post_processor(L, list[i], where + ".processors[" + std::to_string(i) + "]",
                           depth + 1, tmpl);
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "TemplateProcessing") {
    const json& single = L.array(L.req(v, "single", where), where + ".single");
    const json* specials = L.opt(v, "special_tokens");
    if (specials) L.object(*specials, where + ".special_tokens");
    std::vector<TemplateItem> items;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const std::string w = where + ".single[" + std::to_string(i) + "]";
      const json& item = L.object(single[i], w);
      if (const json* seq = L.opt(item, "Sequence")) {
        const std::string id = L.str(L.req(L.object(*seq, w), "id", w + ".Sequence"), w);
        if (id != "A") L.fail(w, "the single template may only use sequence A, found \"" + id + "\"");
        items.push_back({true, {}});
      } else if (const json* sp = L.opt(item, "SpecialToken")) {
        const std::string name =
            L.str(L.req(L.object(*sp, w), "id", w + ".SpecialToken"), w + ".SpecialToken.id");
        if (!specials || !specials->contains(name))
          L.fail(w, "special token \"" + name + "\" is missing from special_tokens");
        const std::string sw = where + ".special_tokens[\"" + name + "\"]";
        const json& ids = L.array(L.req(L.object(specials->at(name), sw), "ids", sw), sw + ".ids");
        TemplateItem t;
        for (std::size_t k = 0; k < ids.size(); ++k)
          t.ids.push_back(static_cast<int32_t>(
              L.integer(ids[k], 0, kMaxTokenId, sw + ".ids[" + std::to_string(k) + "]")));
        items.push_back(std::move(t));
      } else {
        L.fail(w, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    wrap(std::move(items));
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto token_id = [&](const char* key) {
      const std::string w = where + "." + key;
      const json& pair = L.array(L.req(v, key, where), w);
      if (pair.size() != 2) L.fail(w, "expected [token, id]");
      return static_cast<int32_t>(L.integer(pair[1], 0, kMaxTokenId, w + "[1]"));
    };
    std::vector<TemplateItem> items;
    items.push_back({false, {token_id("cls")}});
    items.push_back({true, {}});
    items.push_back({false, {token_id("sep")}});
    wrap(std::move(items));
  } else {
    L.fail(where, "unsupported post-processor type \"" + type +
                      "\" (supported: TemplateProcessing, ByteLevel, Sequence, BertProcessing, "
                      "RobertaProcessing)");
  }
}

void parse_model(const Loader& L, const json& v, Bpe& m) {
  const std::string where = "model";
  L.object(v, where);
  if (const json* t = L.opt(v, "type")) {
    const std::string type = L.str(*t, "model.type");
    if (type != "BPE")
      L.fail("model.type", "unsupported model type \"" + type + "\" (only BPE is supported)");
  }
  if (const json* d = L.opt(v, "dropout")) {
    if (!d->is_number()) L.fail("model.dropout", "expected a number");
    if (d->get<double>() != 0.0) L.fail("model.dropout", "BPE dropout is not supported");
  }
  const json& vocab = L.req(v, "vocab", where);
  if (!vocab.is_object())
    L.fail("model.vocab", std::string("expected an object of token -> id, found ") +
                              vocab.type_name());
  m.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const json& val = it.value();
    int64_t id;
    if (val.is_number_unsigned() && val.get<uint64_t>() <= uint64_t(kMaxTokenId))
      id = static_cast<int64_t>(val.get<uint64_t>());  // the common case: no message built
    else
      id = L.integer(val, 0, kMaxTokenId, "model.vocab[\"" + it.key() + "\"]");
    m.vocab[it.key()] = static_cast<int32_t>(id);
  }
  m.vocab_entries = m.vocab.size();
  if (const json* u = L.opt(v, "unk_token")) {
    m.unk_token = L.str(*u, "model.unk_token");
    if (!m.vocab.count(*m.unk_token))
      L.fail("model.unk_token", "unknown token \"" + *m.unk_token + "\" is not in the vocabulary");
  }
  if (const json* p = L.opt(v, "continuing_subword_prefix"))
    m.prefix = L.str(*p, "model.continuing_subword_prefix");
  if (const json* s = L.opt(v, "end_of_word_suffix"))
    m.suffix = L.str(*s, "model.end_of_word_suffix");
  m.fuse_unk = L.boolean(v, "fuse_unk", false, where);
  m.byte_fallback = L.boolean(v, "byte_fallback", false, where);
  m.ignore_merges = L.boolean(v, "ignore_merges", false, where);
  for (int b = 0; b < 256; ++b) {
    auto it = m.vocab.find(byte_fallback_token(static_cast<unsigned char>(b)));
    m.byte_ids[b] = it == m.vocab.end() ? -1 : it->second;
  }

  const json* merges = L.opt(v, "merges");
  if (!merges) return;
  L.array(*merges, "model.merges");
  const std::size_t prefix_len = m.prefix ? m.prefix->size() : 0;
  m.merges.reserve(merges->size());
  uint32_t rank = 0;
  std::string a, b, merged;
  for (std::size_t i = 0; i < merges->size(); ++i) {
    auto where = [&] { return "model.merges[" + std::to_string(i) + "]"; };
    const json& e = (*merges)[i];
    if (e.is_string()) {
      const std::string& line = e.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) continue;
      const std::size_t sp = line.find(' ');
      if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
        L.fail(where(), "merge \"" + line + "\" is not two tokens separated by one space");
      a.assign(line, 0, sp);
      b.assign(line, sp + 1);
    } else if (e.is_array()) {
      if (e.size() != 2 || !e[0].is_string() || !e[1].is_string())
        L.fail(where(), "expected a pair of token strings");
      a = e[0].get_ref<const std::string&>();
      b = e[1].get_ref<const std::string&>();
    } else {
      const std::string w = where();
      L.fail(w, std::string("expected \"a b\" or [\"a\", \"b\"], found ") + e.type_name());
    }
    auto ia = m.vocab.find(a), ib = m.vocab.find(b);
    if (ia == m.vocab.end()) L.fail(where(), "merge token \"" + a + "\" is not in the vocabulary");
    if (ib == m.vocab.end()) L.fail(where(), "merge token \"" + b + "\" is not in the vocabulary");
    if (b.size() < prefix_len)
      L.fail(where(), "merge token \"" + b + "\" is shorter than the continuing_subword_prefix");
    merged.assign(a).append(b, prefix_len, std::string::npos);
    auto im = m.vocab.find(merged);
    if (im == m.vocab.end())
      L.fail(where(), "merged token \"" + merged + "\" is not in the vocabulary");
    m.merges[Bpe::key(ia->second, ib->second)] = {rank++, im->second};
  }
}

void parse_added_tokens(const Loader& L, const json& list, Tokenizer::Impl& impl) {
  L.array(list, "added_tokens");
  const std::size_t model_size = impl.model.vocab_entries;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string w = "added_tokens[" + std::to_string(i) + "]";
    const json& e = L.object(list[i], w);
    AddedToken t;
    t.content = L.str(L.req(e, "content", w), w + ".content");
    t.special = L.boolean(e, "special", false, w);
    t.single_word = L.boolean(e, "single_word", false, w);
    t.lstrip = L.boolean(e, "lstrip", false, w);
    t.rstrip = L.boolean(e, "rstrip", false, w);
    t.normalized = L.boolean(e, "normalized", !t.special, w);
    if (const json* id = L.opt(e, "id")) L.integer(*id, 0, kMaxTokenId, w + ".id");
    if (t.content.empty()) continue;
    if (t.special) impl.special_contents[t.content] = true;
    bool duplicate = false;
    for (const AddedToken& o : impl.added) duplicate = duplicate || o.same_as(t);
    if (duplicate) continue;
    // Ids as AddedVocabulary::add_tokens assigns them (the "id" field is only a hint there).
    int32_t id;
    if (auto it = impl.added_ids.find(t.content); it != impl.added_ids.end()) {
      id = it->second;
    } else if (auto m = impl.model.find(t.content)) {
      id = *m;
    } else if (impl.added_ids.empty()) {
      id = static_cast<int32_t>(model_size);
    } else {
      int32_t max_id = 0;
      for (const auto& kv : impl.added_ids) max_id = std::max(max_id, kv.second);
      id = (max_id >= static_cast<int32_t>(model_size) || model_size == 0)
               ? max_id + 1
               : static_cast<int32_t>(model_size);
    }
    if (id > kMaxTokenId) L.fail(w, "too many added tokens");
    t.id = id;
    impl.added_ids[t.content] = id;
    impl.added_by_id[id] = impl.added.size();
    impl.added.push_back(t);
  }
  // The tries, special tokens first, as refresh_added_tokens builds them.
  for (int pass = 0; pass < 2; ++pass) {
    for (const AddedToken& t : impl.added) {
      if (t.special != (pass == 0)) continue;
      if (t.normalized) {
        std::string pattern = t.content;
        impl.normalize(pattern);
        if (!pattern.empty()) impl.normalized_trie.add(pattern, t.id);
      } else {
        impl.raw_trie.add(t.content, t.id);
      }
    }
  }
}

std::shared_ptr<Tokenizer::Impl> load(std::string_view text, const std::string& name) {
  const Loader L(name);
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    L.fail("", std::string("not valid JSON (") + e.what() + ")");
  }
  auto impl = std::make_shared<Tokenizer::Impl>();
  impl->source = name;
  try {
    L.object(root, "top level");
    if (const json* v = L.opt(root, "version")) {
      const std::string ver = L.str(*v, "version");
      if (ver != "1.0") L.fail("version", "unknown tokenizer version \"" + ver + "\"");
    }
    parse_model(L, L.req(root, "model", ""), impl->model);
    if (const json* n = L.opt(root, "normalizer"))
      parse_normalizer(L, *n, "normalizer", 0, impl->normalizers);
    if (const json* p = L.opt(root, "pre_tokenizer"))
      parse_pre_tokenizer(L, *p, "pre_tokenizer", 0, impl->pre_tokenizers);
    if (const json* d = L.opt(root, "decoder")) {
      impl->has_decoder = true;
      parse_decoder(L, *d, "decoder", 0, impl->decoders);
    }
    if (const json* a = L.opt(root, "added_tokens")) parse_added_tokens(L, *a, *impl);
    if (const json* pp = L.opt(root, "post_processor"))
      parse_post_processor(L, *pp, "post_processor", 0, impl->single_template);
  } catch (const json::exception& e) {
    L.fail("", std::string("malformed content (") + e.what() + ")");
  }

  // id -> token, added tokens taking precedence as in Tokenizer::decode.
  int32_t max_id = -1;
  for (const auto& kv : impl->model.vocab) max_id = std::max(max_id, kv.second);
  for (const AddedToken& t : impl->added) max_id = std::max(max_id, t.id);
  impl->tokens.assign(static_cast<std::size_t>(max_id + 1), std::string());
  std::vector<bool> seen(impl->tokens.size(), false);
  // Lexicographically smallest token wins where two share an id (deterministic).
  for (const auto& [tok, id] : impl->model.vocab) {
    if (seen[id] && impl->tokens[id] <= tok) continue;
    seen[id] = true;
    impl->tokens[id] = tok;
  }
  for (const auto& [id, index] : impl->added_by_id) {
    impl->tokens[id] = impl->added[index].content;
    seen[id] = true;
  }
  impl->present = seen;

  if (impl->single_template) {
    for (const TemplateItem& item : *impl->single_template)
      for (int32_t id : item.ids)
        if (id > max_id || !impl->present[id])
          L.fail("post_processor", "template token id " + std::to_string(id) +
                                       " is not in the vocabulary");
  }

  impl->bytes.resize(impl->tokens.size());
  impl->special.assign(impl->tokens.size(), false);
  for (std::size_t id = 0; id < impl->tokens.size(); ++id) {
    std::string b = impl->tokens[id];
    for (const Decoder& d : impl->decoders) d.token_bytes(b);
    impl->bytes[id] = std::move(b);
    impl->special[id] = impl->present[id] && impl->special_contents.count(impl->tokens[id]) > 0;
  }
  return impl;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------
Tokenizer Tokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  RLAE_CHECK(in.good(), "tokenizer.json ", path, ": cannot open the file");
  const std::streamoff size = in.tellg();
  RLAE_CHECK(size >= 0, "tokenizer.json ", path, ": cannot read the file size");
  std::string text(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  in.read(text.data(), size);
  RLAE_CHECK(!in.bad() && in.gcount() == size, "tokenizer.json ", path, ": read error");
  return Tokenizer(load(text, path));
}

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& name) {
  return Tokenizer(load(json_text, name));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return impl_->encode(text, add_special_tokens);
}

std::vector<std::string> Tokenizer::pre_tokenize(std::string_view text) const {
  std::vector<Piece> pieces{{std::string(text), -1, true}};
  if (text.empty()) return {};
  for (const PreTokenizer& pt : impl_->pre_tokenizers) pt.apply(pieces);
  std::vector<std::string> out;
  for (Piece& p : pieces) out.push_back(std::move(p.text));
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (auto it = impl_->added_ids.find(key); it != impl_->added_ids.end()) return it->second;
  return impl_->model.find(key);
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  RLAE_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " out of range [0, ", vocab_size(),
             ") for tokenizer ", impl_->source);
  return impl_->tokens[id];
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  RLAE_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " out of range [0, ", vocab_size(),
             ") for tokenizer ", impl_->source);
  return impl_->bytes[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->special[id];
}

std::vector<int32_t> Tokenizer::special_ids() const {
  std::vector<int32_t> out;
  for (int32_t id = 0; id < vocab_size(); ++id)
    if (impl_->special[id]) out.push_back(id);
  return out;
}

std::optional<int32_t> Tokenizer::unk_id() const {
  if (!impl_->model.unk_token) return std::nullopt;
  return impl_->model.find(*impl_->model.unk_token);
}

const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace rlae
