// common/regex: Oniguruma with Hugging Face's find_iter semantics, the hand-written
// fast paths against Oniguruma on one corpus, Unicode 16 classes, error messages.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/regex.h"
#include "common/unicode.h"

namespace rlae {
namespace {

std::vector<std::pair<std::size_t, std::size_t>> matches(const Regex& re, std::string_view s) {
  std::vector<RegexMatch> m;
  re.find_all(s, m);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const RegexMatch& x : m) out.emplace_back(x.begin, x.end);
  return out;
}

std::string utf8(char32_t c) {
  std::string s;
  unicode::utf8_append(s, c);
  return s;
}

// Strings that stress the known patterns: contractions in any case, letters, digits,
// punctuation runs, every kind of whitespace and line break, Unicode 15/16 letters,
// combining marks, emoji, invalid UTF-8 bytes.
std::vector<std::string> corpus(int n, uint32_t seed) {
  const std::vector<std::string> atoms = {
      "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'", "\u017f", "'\u017f",
      "a", "Z", "hello", "World", "\u00e9", "\u4f60\u597d", "\u0645\u0631\u062d\u0628\u0627",
      "\u0928\u092e\u0938\u094d\u0924\u0947", "e\u0301", "0", "12", "1234567", "\u0661\u0662",
      "\u00bd", "\u2167", "!", "?!", "...", "--", "//", "\"", "(", ")", "{}", "#", "$", "\u20ac",
      "\U0001F600", "\U0001F468\u200D\U0001F469\u200D\U0001F467", " ", "  ", "   ", "\t", "\n",
      "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\x0b", "\x0c", "\x85", "\u200b",
      "\u200c", "\u200d", "_", "\xff", "\xc3", "\xe2\x82", "\x80", "\U00011F04", "\U0001E4D0",
      "\U00031350", "\U0002B739", "\U0001E030", "\u1C89", "\U00010D50", "\U00016D40",
      "\U0001E5D0", "\U00011F50", "\U0001E4F0", "\U00016D70", "\u24b6", "\U0001F130"};
  std::mt19937 rng(seed);
  std::vector<std::string> out = {"", " ", "a", "'s", "\n", "   x", "x   ", "a  \n\n  b"};
  while (static_cast<int>(out.size()) < n) {
    std::string s;
    const int k = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < k; ++i) s += atoms[rng() % atoms.size()];
    out.push_back(s);
  }
  return out;
}

struct Known {
  const char* name;
  const char* pattern;
};
const Known kKnown[] = {
    {"gpt2", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"},
    {"llama3",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"words", R"(\w+|[^\w\s]+)"},
};

// Every fast path gives exactly Oniguruma's matches on the same corpus.
TEST(Regex, FastPathsMatchOniguruma) {
  const std::vector<std::string> texts = corpus(20000, 16);
  for (const Known& k : kKnown) {
    const Regex fast = Regex::compile(k.pattern);
    const Regex onig = Regex::compile(k.pattern, Regex::Engine::Oniguruma);
    EXPECT_STREQ(fast.engine_name(), k.name);
    EXPECT_STREQ(onig.engine_name(), "oniguruma");
    int differ = 0;
    for (const std::string& t : texts) {
      const auto a = matches(fast, t), b = matches(onig, t);
      if (a != b && ++differ <= 5) ADD_FAILURE() << k.name << " differs on \"" << t << "\"";
    }
    EXPECT_EQ(differ, 0) << k.name << " over " << texts.size() << " strings";
  }
}

// A pattern that differs by one character takes Oniguruma, not a fast path.
TEST(Regex, OnlyTheExactPatternTakesAFastPath) {
  EXPECT_STREQ(Regex::compile(R"(\w+|[^\w\s]+ )").engine_name(), "oniguruma");
  EXPECT_STREQ(Regex::compile(R"(\p{L}+)").engine_name(), "oniguruma");
}

// The onig crate's find_iter: empty matches are yielded, but never one that ends
// where the previous match ended.
TEST(Regex, EmptyMatchesFollowFindIter) {
  const Regex a = Regex::compile("a*");
  using V = std::vector<std::pair<std::size_t, std::size_t>>;
  EXPECT_EQ(matches(a, "baaac"), (V{{0, 0}, {1, 4}, {5, 5}}));
  EXPECT_EQ(matches(a, ""), (V{{0, 0}}));
  // Steps are whole characters: no match starts inside "é".
  EXPECT_EQ(matches(Regex::compile("x*"), "\xc3\xa9"), (V{{0, 0}, {2, 2}}));
  // Look-behind sees text before the search start; $ is an end of line (Ruby rules).
  EXPECT_EQ(matches(Regex::compile(R"((?<=a)b)"), "abab"), (V{{1, 2}, {3, 4}}));
  EXPECT_EQ(matches(Regex::compile(R"(\s+$)"), "a  \nb "), (V{{1, 3}, {5, 6}}));
}

// Possessive quantifiers of tiktoken's cl100k pattern, as Oniguruma reads them (and
// so Hugging Face: checked with tokenizers 0.23.3): ?+ and ++ are possessive, but
// {1,3}+ is {1,3} repeated, so \p{N}{1,3}+ takes a whole run of digits where tiktoken
// takes three at a time.
TEST(Regex, PossessiveQuantifiersAsOnigurumaReadsThem) {
  const Regex re = Regex::compile(R"([^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+)");
  using V = std::vector<std::pair<std::size_t, std::size_t>>;
  EXPECT_EQ(matches(re, " hello 12345"), (V{{0, 6}, {7, 12}}));
  // a{2,1} is a{1,2} to Oniguruma (HF accepts it too).
  EXPECT_EQ(matches(Regex::compile("a{2,1}"), "aaa"), (V{{0, 2}, {2, 3}}));
}

// Letters and digits that Unicode 15 and 16 added are \p{L} / \p{N} / \w / \d, in the
// fast paths (our tables) and in Oniguruma (our user properties, not libonig's
// Unicode 14), as in Hugging Face tokenizers 0.23.
TEST(Regex, UnicodeSixteenClasses) {
  EXPECT_STREQ(unicode::version(), "16.0.0");
  const Regex letters = Regex::compile(R"(\p{L}+)");
  const Regex long_name = Regex::compile(R"(\p{Letter}+)");
  const Regex word = Regex::compile(R"(\w+)");
  const Regex not_letter = Regex::compile(R"([^\p{L}]+)");
  for (char32_t c : {0x11F04, 0x1E4D0, 0x31350, 0x2B739, 0x1E030, 0x1C89, 0x10D50, 0x16D40, 0x1E5D0}) {
    const std::string s = "a" + utf8(c) + "b";
    using V = std::vector<std::pair<std::size_t, std::size_t>>;
    EXPECT_TRUE(unicode::is_letter(c)) << std::hex << uint32_t(c);
    EXPECT_EQ(matches(letters, s), (V{{0, s.size()}})) << std::hex << uint32_t(c);
    EXPECT_EQ(matches(long_name, s), (V{{0, s.size()}})) << std::hex << uint32_t(c);
    EXPECT_EQ(matches(word, s), (V{{0, s.size()}})) << std::hex << uint32_t(c);
    EXPECT_TRUE(matches(not_letter, s).empty()) << std::hex << uint32_t(c);
  }
  const Regex digits = Regex::compile(R"(\d+)");
  for (char32_t c : {0x11F50, 0x1E4F0, 0x16D70, 0x1E5F1}) {
    const std::string s = "1" + utf8(c) + "2";
    EXPECT_TRUE(unicode::is_number(c)) << std::hex << uint32_t(c);
    EXPECT_EQ(matches(digits, s).size(), 1u) << std::hex << uint32_t(c);
  }
  EXPECT_EQ(unicode::category(0x10D50), unicode::Category::Lu);
  EXPECT_EQ(unicode::category(0x10FFFF), unicode::Category::Cn);
}

// Invalid UTF-8 bytes are characters that are no letter, number or space, on both
// engines alike.
TEST(Regex, InvalidUtf8IsOtherOnBothEngines) {
  const Known& k = kKnown[1];
  const Regex fast = Regex::compile(k.pattern);
  const Regex onig = Regex::compile(k.pattern, Regex::Engine::Oniguruma);
  for (const char* s : {"ab\xff" "cd", "\xc3", "x \xe2\x82 y", "\x80\x80 12"})
    EXPECT_EQ(matches(fast, s), matches(onig, s)) << s;
}

// Errors name Oniguruma's complaint first, then the whole pattern, however long.
TEST(Regex, ErrorsNameThePieceAndTheWholePattern) {
  std::string long_pattern;
  for (int i = 0; i < 60; ++i) long_pattern += "abc" + std::to_string(i) + "|";
  long_pattern += R"(\p{NoSuchProperty})";
  try {
    Regex::compile(long_pattern);
    FAIL() << "compiled an invalid pattern";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("invalid character property name {NoSuchProperty}"), std::string::npos) << what;
    EXPECT_NE(what.find(long_pattern), std::string::npos) << what;
    EXPECT_LT(what.find("NoSuchProperty"), what.find("pattern")) << what;
  }
  EXPECT_THROW(Regex::compile("(unclosed"), Error);
  EXPECT_THROW(Regex::compile("[a-"), Error);
}

// Compiled once, used from several threads at once.
TEST(Regex, ConcurrentSearches) {
  const Regex re = Regex::compile(R"(\p{Lu}+\p{Ll}*|\s+)");
  const std::string text = "Hello World  ABC def";
  const auto want = matches(re, text);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (matches(re, text) != want) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace rlae
