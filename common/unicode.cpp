#include "common/unicode.h"

#include <algorithm>
#include <vector>

namespace rlae::unicode {
namespace {

struct CodepointRange {
  uint32_t first, last;
};
struct CombiningClassRange {
  uint32_t first, last;
  uint8_t cls;
};
struct Decomposition {
  uint32_t cp;
  uint32_t offset;
  uint32_t length;
};
struct Composition {
  uint32_t first, second, composite;
};
struct CategoryRun {
  uint32_t first, last;
  uint8_t category;
};

#include "common/unicode_tables.inc"

template <std::size_t N>
bool in_ranges(const CodepointRange (&table)[N], char32_t c) {
  const CodepointRange* end = table + N;
  const CodepointRange* it = std::upper_bound(
      table, end, static_cast<uint32_t>(c),
      [](uint32_t v, const CodepointRange& r) { return v < r.first; });
  return it != table && c <= (it - 1)->last;
}

// Hangul syllable arithmetic (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t combining_class(char32_t c) {
  if (c < 0x300 || is_invalid_byte(c)) return 0;
  const auto* begin = std::begin(kCombiningClassRanges);
  const auto* end = std::end(kCombiningClassRanges);
  const auto* it = std::upper_bound(
      begin, end, static_cast<uint32_t>(c),
      [](uint32_t v, const CombiningClassRange& r) { return v < r.first; });
  if (it == begin || c > (it - 1)->last) return 0;
  return (it - 1)->cls;
}

void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (c >= 0xC0 && !is_invalid_byte(c)) {
    const auto* begin = std::begin(kDecompositions);
    const auto* end = std::end(kDecompositions);
    const auto* it = std::lower_bound(
        begin, end, static_cast<uint32_t>(c),
        [](const Decomposition& d, uint32_t v) { return d.cp < v; });
    if (it != end && it->cp == c) {
      for (uint32_t k = 0; k < it->length; ++k) out.push_back(kDecompositionData[it->offset + k]);
      return;
    }
  }
  out.push_back(c);
}

// The primary composite of (a, b), or 0.
char32_t compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* begin = std::begin(kCompositions);
  const auto* end = std::end(kCompositions);
  const auto* it = std::lower_bound(begin, end, std::make_pair(uint32_t(a), uint32_t(b)),
                                    [](const Composition& x, const std::pair<uint32_t, uint32_t>& v) {
                                      return x.first != v.first ? x.first < v.first
                                                                : x.second < v.second;
                                    });
  if (it != end && it->first == a && it->second == b) return it->composite;
  return 0;
}

// Length of the valid UTF-8 prefix of s starting at i (1..4), or 0 when the
// sequence there is invalid; on 0, *maximal is the length of its maximal subpart.
int utf8_sequence(std::string_view s, std::size_t i, int* maximal) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *maximal = 1;
  if (b0 < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
    *maximal = k + 1;
  }
  return len;
}

}  // namespace

const char* version() { return RLAE_UNICODE_VERSION; }

Category category(char32_t c) {
  if (is_invalid_byte(c)) return Category::Cn;
  const auto* begin = std::begin(kCategoryRuns);
  const auto* end = std::end(kCategoryRuns);
  const auto* it = std::upper_bound(begin, end, static_cast<uint32_t>(c),
                                    [](uint32_t v, const CategoryRun& r) { return v < r.first; });
  if (it == begin || c > (it - 1)->last) return Category::Cn;
  return static_cast<Category>((it - 1)->category);
}

std::vector<std::pair<char32_t, char32_t>> category_ranges(uint32_t mask) {
  std::vector<std::pair<char32_t, char32_t>> out;
  for (const CategoryRun& r : kCategoryRuns) {
    if (!(mask & (uint32_t{1} << r.category))) continue;
    if (!out.empty() && out.back().second + 1 == r.first)
      out.back().second = r.last;
    else
      out.emplace_back(r.first, r.last);
  }
  return out;
}

std::vector<std::pair<char32_t, char32_t>> word_onig_ranges() {
  std::vector<std::pair<char32_t, char32_t>> out;
  auto add = [&](char32_t a, char32_t b) {
    if (a > b) return;
    if (!out.empty() && out.back().second + 1 == a)
      out.back().second = b;
    else
      out.emplace_back(a, b);
  };
  std::vector<std::pair<char32_t, char32_t>> table;
  for (const CodepointRange& r : kWordRanges) table.emplace_back(r.first, r.last);
  for (char32_t c : {0xB2, 0xB3, 0xB9, 0xBC, 0xBD, 0xBE}) table.emplace_back(c, c);
  std::sort(table.begin(), table.end());
  for (const auto& [first, last] : table) {
    const struct { char32_t first, last; } r{first, last};
    // Oniguruma's \w has no Join_Control: cut U+200C..U+200D out.
    if (r.last < 0x200C || r.first > 0x200D) {
      add(r.first, r.last);
    } else {
      add(r.first, std::min<char32_t>(r.last, 0x200B));
      add(std::max<char32_t>(r.first, 0x200E), r.last);
    }
  }
  return out;
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(kLetterRanges, c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(kNumberRanges, c);
}

bool is_word(char32_t c) {
  if (c < 0x80) return is_letter(c) || is_number(c) || c == '_';
  return in_ranges(kWordRanges, c);
}

// Oniguruma classes code points below 256 by its ISO-8859-1 table, where the
// superscripts and fractions U+00B2, U+00B3, U+00B9, U+00BC..U+00BE are word
// characters too (checked against tokenizers 0.23 over every code point).
inline bool is_latin1_word_extra(char32_t c) {
  return c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE);
}

bool is_word_onig(char32_t c) {
  return is_latin1_word_extra(c) || (c != 0x200C && c != 0x200D && is_word(c));
}

bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

char32_t utf8_next(std::string_view s, std::size_t& i) {
  int maximal;
  const int len = utf8_sequence(s, i, &maximal);
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (len == 0) {
    ++i;
    return kInvalidByteBase + b0;
  }
  char32_t c;
  switch (len) {
    case 1: c = b0; break;
    case 2: c = b0 & 0x1F; break;
    case 3: c = b0 & 0x0F; break;
    default: c = b0 & 0x07; break;
  }
  for (int k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return c;
}

void utf8_append(std::string& out, char32_t c) {
  if (is_invalid_byte(c)) {
    out.push_back(static_cast<char>(c - kInvalidByteBase));
  } else if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool utf8_is_valid(std::string_view s) {
  int maximal;
  for (std::size_t i = 0; i < s.size();) {
    const int len = utf8_sequence(s, i, &maximal);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  int maximal;
  for (std::size_t i = 0; i < s.size();) {
    const int len = utf8_sequence(s, i, &maximal);
    if (len == 0) {
      utf8_append(out, kReplacementChar);
      i += maximal;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string nfc(std::string_view s) {
  // Everything below U+0300 is stable under NFC and never composes with what
  // precedes it; such text (lead bytes < 0xCC) is returned unchanged.
  if (std::all_of(s.begin(), s.end(), [](char b) { return static_cast<unsigned char>(b) < 0xCC; }))
    return std::string(s);

  std::vector<char32_t> cps;
  cps.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) decompose(utf8_next(s, i), cps);

  // Canonical ordering: stable sort of each run of non-starters by class.
  for (std::size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](char32_t a, char32_t b) {
      return combining_class(a) < combining_class(b);
    });
    i = j;
  }

  // Canonical composition.
  std::vector<char32_t> out;
  out.reserve(cps.size());
  std::ptrdiff_t starter = -1;
  uint8_t last_class = 0;
  for (char32_t c : cps) {
    const uint8_t cls = combining_class(c);
    if (starter >= 0) {
      const bool adjacent = static_cast<std::ptrdiff_t>(out.size()) - 1 == starter;
      const bool blocked = !adjacent && (last_class == 0 || last_class >= cls);
      if (!blocked) {
        if (char32_t composite = compose(out[starter], c)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cls == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    last_class = cls;
    out.push_back(c);
  }
  std::string result;
  result.reserve(s.size());
  for (char32_t c : out) utf8_append(result, c);
  return result;
}

}  // namespace rlae::unicode
