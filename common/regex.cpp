// Split regexes: Oniguruma with Hugging Face's semantics, plus hand-written fast
// paths for the patterns of real tokenizers.
#include "common/regex.h"

#include <oniguruma.h>

#include <array>
#include <mutex>

#include "common/check.h"
#include "common/unicode.h"

namespace rlae {
namespace {

using unicode::utf8_next;

// ---------------------------------------------------------------------------
// Known patterns, matched by hand with the regex's backtracking semantics.
// ---------------------------------------------------------------------------
const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kWordsPattern = R"(\w+|[^\w\s]+)";

enum class FastPath { None, Gpt2, Llama3, Qwen2, Words, WhitespaceWords };

inline bool is_space(char32_t c) { return unicode::is_whitespace(c); }
inline bool is_l(char32_t c) { return unicode::is_letter(c); }
inline bool is_n(char32_t c) { return unicode::is_number(c); }
// [^\s\p{L}\p{N}]
inline bool is_other(char32_t c) { return !is_space(c) && !is_l(c) && !is_n(c); }
inline bool is_crlf(char32_t c) { return c == '\r' || c == '\n'; }

// Case folding for the (?i:...) contractions: ASCII, and U+017F LONG S folds to s.
inline char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';
  return c;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive.
std::size_t match_contraction(const std::vector<char32_t>& cp, std::size_t i, bool icase) {
  const std::size_t n = cp.size();
  if (cp[i] != '\'' || i + 1 >= n) return i;
  auto f = [&](char32_t c) { return icase ? fold(c) : c; };
  const char32_t c1 = f(cp[i + 1]);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
  if (i + 2 < n) {
    const char32_t c2 = f(cp[i + 2]);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
      return i + 3;
  }
  return i;
}

template <typename Pred>
std::size_t skip_while(const std::vector<char32_t>& cp, std::size_t i, Pred pred) {
  while (i < cp.size() && pred(cp[i])) ++i;
  return i;
}

// \s+(?!\S)|\s+
std::size_t match_trailing_space(const std::vector<char32_t>& cp, std::size_t i) {
  if (!is_space(cp[i])) return i;
  const std::size_t k = skip_while(cp, i, is_space);
  if (k == cp.size() || k - i == 1) return k;
  return k - 1;  // leave the last space to the following word
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::size_t match_gpt2(const std::vector<char32_t>& cp, std::size_t i) {
  std::size_t e = match_contraction(cp, i, false);
  if (e != i) return e;
  const bool space = cp[i] == ' ' && i + 1 < cp.size();
  for (auto pred : {is_l, is_n, is_other}) {
    if (space && pred(cp[i + 1])) return skip_while(cp, i + 1, pred);
    if (pred(cp[i])) return skip_while(cp, i, pred);
  }
  return match_trailing_space(cp, i);
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::size_t match_llama3(const std::vector<char32_t>& cp, std::size_t i, std::size_t max_digits) {
  const std::size_t n = cp.size();
  std::size_t e = match_contraction(cp, i, true);
  if (e != i) return e;
  const char32_t c = cp[i];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!is_crlf(c) && !is_l(c) && !is_n(c) && i + 1 < n && is_l(cp[i + 1]))
    return skip_while(cp, i + 1, is_l);
  if (is_l(c)) return skip_while(cp, i, is_l);
  // \p{N}{1,D}
  if (is_n(c)) {
    e = i;
    while (e < n && e - i < max_digits && is_n(cp[e])) ++e;
    return e;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  std::size_t start = n;
  if (c == ' ' && i + 1 < n && is_other(cp[i + 1]))
    start = i + 1;
  else if (is_other(c))
    start = i;
  if (start != n) return skip_while(cp, skip_while(cp, start, is_other), is_crlf);
  // \s*[\r\n]+ : up to the last line break of the whitespace run
  if (is_space(c)) {
    const std::size_t k = skip_while(cp, i, is_space);
    for (std::size_t j = k; j > i; --j)
      if (is_crlf(cp[j - 1])) return j;
  }
  return match_trailing_space(cp, i);
}

// \w+|[^\w\s]+
template <bool (*IsWord)(char32_t)>
std::size_t match_words(const std::vector<char32_t>& cp, std::size_t i) {
  if (IsWord(cp[i])) return skip_while(cp, i, IsWord);
  auto punct = [](char32_t c) { return !IsWord(c) && !is_space(c); };
  if (punct(cp[i])) return skip_while(cp, i, punct);
  return i;
}

// None of these patterns can match the empty string, so a scan that moves past
// each unmatched character gives find_iter's matches.
void fast_find_all(FastPath path, std::string_view s, std::vector<RegexMatch>& out) {
  std::vector<char32_t> cp;
  std::vector<std::size_t> offset;
  cp.reserve(s.size());
  offset.reserve(s.size() + 1);
  for (std::size_t i = 0; i < s.size();) {
    offset.push_back(i);
    cp.push_back(utf8_next(s, i));
  }
  offset.push_back(s.size());
  for (std::size_t i = 0; i < cp.size();) {
    std::size_t e = i;
    switch (path) {
      case FastPath::Gpt2: e = match_gpt2(cp, i); break;
      case FastPath::Llama3: e = match_llama3(cp, i, 3); break;
      case FastPath::Qwen2: e = match_llama3(cp, i, 1); break;
      case FastPath::Words: e = match_words<unicode::is_word_onig>(cp, i); break;
      case FastPath::WhitespaceWords: e = match_words<unicode::is_word>(cp, i); break;
      case FastPath::None: break;
    }
    if (e == i) {
      ++i;
      continue;
    }
    out.push_back({offset[i], offset[e]});
    i = e;
  }
}

// ---------------------------------------------------------------------------
// Oniguruma
// ---------------------------------------------------------------------------
// User properties holding our Unicode 16 tables. Oniguruma looks user properties up
// before its own, by the exact name; the rewrite below maps the pattern's property
// names (case-insensitive, ' ', '-' and '_' ignored, as Oniguruma reads them) to these.
struct UserProperty {
  const char* name;           // as registered with Oniguruma
  std::vector<const char*> spellings;  // lower case, no ' ', '-', '_'
  uint32_t mask;              // general categories; 0: Oniguruma's \w
};

std::vector<UserProperty> user_properties() {
  using unicode::Category;
  auto b = [](Category c) { return unicode::category_bit(c); };
  const uint32_t L = b(Category::Lu) | b(Category::Ll) | b(Category::Lt) | b(Category::Lm) |
                     b(Category::Lo);
  const uint32_t M = b(Category::Mn) | b(Category::Mc) | b(Category::Me);
  const uint32_t N = b(Category::Nd) | b(Category::Nl) | b(Category::No);
  const uint32_t P = b(Category::Pc) | b(Category::Pd) | b(Category::Ps) | b(Category::Pe) |
                     b(Category::Pi) | b(Category::Pf) | b(Category::Po);
  const uint32_t S = b(Category::Sm) | b(Category::Sc) | b(Category::Sk) | b(Category::So);
  return {
      {"RlaeL", {"l", "letter"}, L},
      {"RlaeLu", {"lu", "uppercaseletter"}, b(Category::Lu)},
      {"RlaeLl", {"ll", "lowercaseletter"}, b(Category::Ll)},
      {"RlaeLt", {"lt", "titlecaseletter"}, b(Category::Lt)},
      {"RlaeLm", {"lm", "modifierletter"}, b(Category::Lm)},
      {"RlaeLo", {"lo", "otherletter"}, b(Category::Lo)},
      {"RlaeM", {"m", "mark", "combiningmark"}, M},
      {"RlaeMn", {"mn", "nonspacingmark"}, b(Category::Mn)},
      {"RlaeMc", {"mc", "spacingmark"}, b(Category::Mc)},
      {"RlaeMe", {"me", "enclosingmark"}, b(Category::Me)},
      {"RlaeN", {"n", "number"}, N},
      {"RlaeNd", {"nd", "decimalnumber", "digit"}, b(Category::Nd)},
      {"RlaeNl", {"nl", "letternumber"}, b(Category::Nl)},
      {"RlaeNo", {"no", "othernumber"}, b(Category::No)},
      {"RlaeP", {"p", "punctuation"}, P},
      {"RlaeS", {"s", "symbol"}, S},
      {"RlaeWord", {"word"}, 0},
  };
}

struct Onig {
  std::mutex mutex;  // onig_new is not thread-safe (the onig crate locks it too)
  std::vector<UserProperty> props;
  std::vector<std::vector<OnigCodePoint>> ranges;  // alive as long as the process

  Onig() : props(user_properties()) {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    int r = onig_initialize(encodings, 1);
    RLAE_CHECK(r == ONIG_NORMAL, "Oniguruma: onig_initialize failed (", r, ")");
    ranges.resize(props.size());
    for (std::size_t i = 0; i < props.size(); ++i) {
      const auto rs = props[i].mask ? unicode::category_ranges(props[i].mask)
                                    : unicode::word_onig_ranges();
      std::vector<OnigCodePoint>& v = ranges[i];
      v.push_back(static_cast<OnigCodePoint>(rs.size()));
      for (const auto& [a, z] : rs) {
        v.push_back(a);
        v.push_back(z);
      }
      r = onig_unicode_define_user_property(props[i].name, v.data());
      RLAE_CHECK(r == ONIG_NORMAL, "Oniguruma: cannot define the user property ", props[i].name,
                 " (", r, ")");
    }
  }

  const char* property_for(std::string_view name) const {
    std::string key;
    for (char c : name) {
      if (c == ' ' || c == '-' || c == '_') continue;
      key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
    for (const UserProperty& p : props)
      for (const char* s : p.spellings)
        if (key == s) return p.name;
    return nullptr;
  }
};

Onig& onig() {
  static Onig instance;
  return instance;
}

// The pattern with the Unicode classes we hold tables for rewritten to our user
// properties (see the header). Everything else is copied byte for byte.
std::string rewrite_classes(std::string_view p, const Onig& o) {
  std::string out;
  out.reserve(p.size() + 16);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c != '\\' || i + 1 >= p.size()) {
      out.push_back(c);
      continue;
    }
    const char e = p[i + 1];
    if ((e == 'p' || e == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
      const std::size_t close = p.find('}', i + 3);
      if (close != std::string_view::npos) {
        std::string_view name = p.substr(i + 3, close - i - 3);
        const bool negated = !name.empty() && name[0] == '^';
        if (negated) name.remove_prefix(1);
        if (const char* prop = o.property_for(name)) {
          out += '\\';
          out += e;
          out += '{';
          if (negated) out += '^';
          out += prop;
          out += '}';
          i = close;
          continue;
        }
      }
    } else if (e == 'w' || e == 'W') {
      out += e == 'w' ? "\\p{RlaeWord}" : "\\P{RlaeWord}";
      ++i;
      continue;
    } else if (e == 'd' || e == 'D') {
      out += e == 'd' ? "\\p{RlaeNd}" : "\\P{RlaeNd}";
      ++i;
      continue;
    }
    out.push_back(c);  // any other escape: both bytes as they are
    out.push_back(e);
    ++i;
  }
  return out;
}

struct RegionHolder {
  OnigRegion* region = onig_region_new();
  ~RegionHolder() { onig_region_free(region, 1); }
};

}  // namespace

struct Regex::Impl {
  std::string pattern;
  FastPath fast = FastPath::None;
  regex_t* reg = nullptr;

  ~Impl() {
    if (reg) onig_free(reg);
  }

  void onig_find_all(std::string_view text, std::vector<RegexMatch>& out) const {
    // Oniguruma expects valid UTF-8: invalid bytes become U+001A (same offsets).
    std::string repaired;
    if (!unicode::utf8_is_valid(text)) {
      repaired.reserve(text.size());
      for (std::size_t i = 0; i < text.size();) {
        const std::size_t b = i;
        const char32_t c = utf8_next(text, i);
        if (unicode::is_invalid_byte(c))
          repaired.push_back('\x1A');
        else
          repaired.append(text.substr(b, i - b));
      }
      text = repaired;
    }
    static thread_local RegionHolder holder;
    OnigRegion* region = holder.region;
    const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
    const auto* end = str + text.size();
    std::size_t last_end = 0;
    bool have_last = false;
    std::size_t last_match_end = 0;
    while (last_end <= text.size()) {
      onig_region_clear(region);
      const int r = onig_search(reg, str, end, str + last_end, end, region, ONIG_OPTION_NONE);
      if (r == ONIG_MISMATCH) break;
      if (r < 0) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r);
        RLAE_FAIL("Oniguruma search failed (", reinterpret_cast<const char*>(msg),
                  ") for the regex \"", pattern, "\"");
      }
      const auto s = static_cast<std::size_t>(region->beg[0]);
      const auto e = static_cast<std::size_t>(region->end[0]);
      if (s == e && have_last && last_match_end == e) {
        // no empty match right after the previous one: step one character
        if (last_end < text.size()) {
          std::size_t k = last_end;
          utf8_next(text, k);
          last_end = k;
        } else {
          last_end += 1;
        }
        continue;
      }
      last_end = e;
      last_match_end = e;
      have_last = true;
      out.push_back({s, e});
    }
  }
};

Regex Regex::compile(std::string_view pattern, Engine engine) {
  auto impl = std::make_shared<Impl>();
  impl->pattern = std::string(pattern);
  if (engine == Engine::Auto) {
    if (pattern == kGpt2Pattern) impl->fast = FastPath::Gpt2;
    else if (pattern == kLlama3Pattern) impl->fast = FastPath::Llama3;
    else if (pattern == kQwen2Pattern) impl->fast = FastPath::Qwen2;
    else if (pattern == kWordsPattern) impl->fast = FastPath::Words;
  }
  if (impl->fast != FastPath::None) return Regex(impl);

  Onig& o = onig();
  const std::string rewritten = rewrite_classes(pattern, o);
  const auto* p = reinterpret_cast<const OnigUChar*>(rewritten.data());
  OnigErrorInfo einfo{};
  int r;
  {
    std::lock_guard<std::mutex> lock(o.mutex);
    r = onig_new(&impl->reg, p, p + rewritten.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                 ONIG_SYNTAX_DEFAULT, &einfo);
  }
  if (r != ONIG_NORMAL) {
    impl->reg = nullptr;
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r, &einfo);
    std::string what = reinterpret_cast<const char*>(msg);
    // Our property names never reach the user.
    for (std::size_t at; (at = what.find("Rlae")) != std::string::npos;) what.erase(at, 4);
    RLAE_FAIL("Oniguruma refuses the regex: ", what, "; pattern \"", pattern, "\"");
  }
  return Regex(impl);
}

void Regex::find_all(std::string_view text, std::vector<RegexMatch>& out) const {
  if (impl_->fast != FastPath::None)
    fast_find_all(impl_->fast, text, out);
  else
    impl_->onig_find_all(text, out);
}

const std::string& Regex::pattern() const { return impl_->pattern; }

const char* Regex::engine_name() const {
  switch (impl_->fast) {
    case FastPath::Gpt2: return "gpt2";
    case FastPath::Llama3: return "llama3";
    case FastPath::Qwen2: return "qwen2";
    case FastPath::Words: return "words";
    case FastPath::WhitespaceWords: return "whitespace";
    case FastPath::None: break;
  }
  return "oniguruma";
}

void find_whitespace_words(std::string_view text, std::vector<RegexMatch>& out) {
  fast_find_all(FastPath::WhitespaceWords, text, out);
}

}  // namespace rlae
