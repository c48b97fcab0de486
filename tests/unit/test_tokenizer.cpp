// rlae::Tokenizer on small hand-written tokenizer.json files: malformed input,
// BPE merge order, byte fallback, added tokens, decoding, token bytes, Unicode
// helpers. Parity with Hugging Face on trained tokenizers is in tests/parity/.
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/tokenizer.h"
#include "common/unicode.h"

namespace {

using json = nlohmann::json;
using rlae::Tokenizer;
using Ids = std::vector<int32_t>;

const std::string kSpm = "\xE2\x96\x81";  // ▁

json vocab_of(const std::vector<std::string>& tokens) {
  json v = json::object();
  for (std::size_t i = 0; i < tokens.size(); ++i) v[tokens[i]] = static_cast<int>(i);
  return v;
}

// merges: a JSON array in either form ("a b" strings or ["a", "b"] pairs).
json bpe_json(const std::vector<std::string>& tokens, json merges) {
  return {{"type", "BPE"}, {"vocab", vocab_of(tokens)}, {"merges", std::move(merges)}};
}

json bpe(const std::vector<std::string>& tokens, const std::vector<std::string>& merges = {}) {
  return bpe_json(tokens, json(merges));
}

json document(json model) {
  return {{"version", "1.0"},       {"added_tokens", json::array()}, {"normalizer", nullptr},
          {"pre_tokenizer", nullptr}, {"post_processor", nullptr},  {"decoder", nullptr},
          {"model", std::move(model)}};
}

Tokenizer load(const json& doc) { return Tokenizer::from_json(doc.dump(), "test.json"); }

// The message of the rlae::Error that loading `text` throws ("" if none).
std::string load_error(const std::string& text) {
  try {
    Tokenizer::from_json(text, "/models/m/tokenizer.json");
  } catch (const rlae::Error& e) {
    return e.what();
  }
  return "";
}

json added(const std::string& content, int id, bool special, json extra = json::object()) {
  json t = {{"id", id},         {"content", content}, {"single_word", false}, {"lstrip", false},
            {"rstrip", false}, {"normalized", !special}, {"special", special}};
  t.update(extra);
  return t;
}

// A SentencePiece-style (Llama 2) tokenizer: ▁-words, byte fallback, <s> template.
json llama2_style() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
  }
  for (const char* t : {"h", "e", "l", "o", "w", "r", "d"}) tokens.push_back(t);
  tokens.push_back(kSpm);
  tokens.push_back(kSpm + "h");
  tokens.push_back(kSpm + "he");
  tokens.push_back("ll");
  tokens.push_back(kSpm + "hell");
  tokens.push_back(kSpm + "hello");
  json merges = json::array({json::array({kSpm, "h"}), json::array({kSpm + "h", "e"}),
                             json::array({"l", "l"}), json::array({kSpm + "he", "ll"}),
                             json::array({kSpm + "hell", "o"})});
  json m = bpe_json(tokens, merges);
  m["unk_token"] = "<unk>";
  m["byte_fallback"] = true;
  m["fuse_unk"] = true;
  json doc = document(m);
  doc["added_tokens"] =
      json::array({added("<unk>", 0, true), added("<s>", 1, true), added("</s>", 2, true)});
  doc["normalizer"] = {{"type", "Sequence"},
                       {"normalizers",
                        json::array({{{"type", "Prepend"}, {"prepend", kSpm}},
                                     {{"type", "Replace"},
                                      {"pattern", {{"String", " "}}},
                                      {"content", kSpm}}})}};
  doc["decoder"] = {{"type", "Sequence"},
                    {"decoders",
                     json::array({{{"type", "Replace"}, {"pattern", {{"String", kSpm}}}, {"content", " "}},
                                  {{"type", "ByteFallback"}},
                                  {{"type", "Fuse"}},
                                  {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  doc["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
      {"special_tokens",
       {{"<s>", {{"id", "<s>"}, {"ids", json::array({1})}, {"tokens", json::array({"<s>"})}}}}}};
  return doc;
}

// A GPT-2 style byte-level tokenizer over the 256 byte characters plus a few merges.
json gpt2_style() {
  // Byte-level characters in byte order (GPT-2's bytes_to_unicode).
  std::vector<std::string> tokens;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    std::string s;
    rlae::unicode::utf8_append(s, printable ? char32_t(b) : char32_t(256 + extra++));
    tokens.push_back(s);
  }
  const std::string G = "\xC4\xA0";  // Ġ
  tokens.push_back(G + "h");
  tokens.push_back("el");
  tokens.push_back(G + "hel");
  json merges = json::array({G + " h", "e l", G + "h el"});  // the legacy "a b" form
  json doc = document(bpe_json(tokens, merges));
  doc["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                          {"trim_offsets", true}, {"use_regex", true}};
  doc["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                    {"use_regex", true}};
  doc["added_tokens"] = json::array({added("<|endoftext|>", 259, true)});
  return doc;
}

// ---------------------------------------------------------------------------
// Malformed files: one clear rlae::Error naming the file and the problem.
// ---------------------------------------------------------------------------
TEST(TokenizerLoad, MissingFileNamesThePath) {
  try {
    Tokenizer::from_file("/nonexistent/dir/tokenizer.json");
    FAIL() << "no error";
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tokenizer.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

TEST(TokenizerLoad, MalformedDocumentsGiveOneLineErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{\"model\": ", "not valid JSON"},
      {"[1, 2]", "expected an object"},
      {"{}", "missing field \"model\""},
      {R"({"model": {"type": "WordPiece", "vocab": {}}})", "unsupported model type \"WordPiece\""},
      {R"({"model": {"type": "BPE", "vocab": []}})", "model.vocab"},
      {R"({"model": {"type": "BPE", "vocab": {"a": -1}}})", "out of range"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 99999999999}}})", "out of range"},
      {R"({"model": {"type": "BPE", "vocab": {"a": "0"}}})", "expected an integer"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
       "merge token \"b\" is not in the vocabulary"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})",
       "merged token \"ab\" is not in the vocabulary"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}})",
       "not two tokens separated by one space"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}})",
       "expected a pair of token strings"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "unk_token": "<unk>"}})",
       "unknown token \"<unk>\" is not in the vocabulary"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "dropout": 0.1}})", "dropout"},
      {R"({"version": "2.0", "model": {"type": "BPE", "vocab": {}}})", "unknown tokenizer version"},
      {R"({"model": {"vocab": {}}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\p{Klingon}+"}, "behavior": "Isolated", "invert": false}})",
       "pre_tokenizer.pattern.Regex: Oniguruma refuses the regex: invalid character property name {Klingon}; pattern \"\\p{Klingon}+\""},
      {R"({"model": {"vocab": {}}, "pre_tokenizer": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways", "invert": false}})",
       "unknown split behavior \"Sideways\""},
      {R"({"model": {"vocab": {}}, "pre_tokenizer": {"type": "BertPreTokenizer"}})",
       "unsupported pre-tokenizer type \"BertPreTokenizer\""},
      {R"({"model": {"vocab": {}}, "pre_tokenizer": {"type": "Metaspace", "replacement": "ab"}})",
       "expected a single character"},
      {R"({"model": {"vocab": {}}, "pre_tokenizer": {"type": "Metaspace", "replacement": "_", "prepend_scheme": "sometimes"}})",
       "prepend_scheme"},
      {R"({"model": {"vocab": {}}, "normalizer": {"type": "Lowercase"}})",
       "unsupported normalizer type \"Lowercase\""},
      {R"({"model": {"vocab": {}}, "normalizer": {"type": "Replace", "pattern": {"Regex": "(?<x"}, "content": "_"}})",
       "normalizer.pattern.Regex: Oniguruma refuses the regex: "},
      {R"({"model": {"vocab": {}}, "decoder": {"type": "WordPiece"}})",
       "unsupported decoder type \"WordPiece\""},
      {R"({"model": {"vocab": {}}, "decoder": {"type": "Strip", "content": " ", "start": "1", "stop": 0}})",
       "decoder.start"},
      {R"({"model": {"vocab": {}}, "decoder": 7})", "expected an object"},
      {R"({"model": {"vocab": {}}, "added_tokens": [{"id": 0}]})",
       "added_tokens[0]: missing field \"content\""},
      {R"({"model": {"vocab": {}}, "added_tokens": [{"content": "x", "special": "yes"}]})",
       "added_tokens[0].special"},
      {R"({"model": {"vocab": {"a": 0}}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {}}})",
       "special token \"<s>\" is missing"},
      {R"({"model": {"vocab": {"a": 0}}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}}})",
       "template token id 5 is not in the vocabulary"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string msg = load_error(text);
    EXPECT_NE(msg.find("tokenizer.json /models/m/tokenizer.json: "), std::string::npos)
        << "input: " << text << "\nmessage: " << msg;
    EXPECT_NE(msg.find(expected), std::string::npos)
        << "input: " << text << "\nmessage: " << msg << "\nexpected to contain: " << expected;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
  }
}

TEST(TokenizerLoad, DeeplyNestedSequenceIsAnError) {
  json pt = {{"type", "WhitespaceSplit"}};
  for (int i = 0; i < 40; ++i) pt = {{"type", "Sequence"}, {"pretokenizers", json::array({pt})}};
  json doc = document(bpe({"a"}));
  doc["pre_tokenizer"] = pt;
  EXPECT_NE(load_error(doc.dump()).find("nested too deeply"), std::string::npos);
}

TEST(TokenizerLoad, FromFileReadsTheFile) {
  const std::string path = ::testing::TempDir() + "rlae_tokenizer_test.json";
  {
    std::ofstream out(path);
    out << gpt2_style().dump();
  }
  const Tokenizer tok = Tokenizer::from_file(path);
  EXPECT_EQ(tok.source(), path);
  EXPECT_EQ(tok.vocab_size(), 260);
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------
// BPE
// ---------------------------------------------------------------------------
TEST(TokenizerBpe, MergesApplyByRankThenLeftmost) {
  // "abc": the "b c" merge ranks first, so "a b" never applies.
  json doc = document(bpe({"a", "b", "c", "ab", "bc", "abc"}, {"b c", "a b", "ab c"}));
  EXPECT_EQ(load(doc).encode("abc"), (Ids{0, 4}));
  doc["model"]["merges"] = json::array({"a b", "b c", "ab c"});
  EXPECT_EQ(load(doc).encode("abc"), (Ids{5}));
  // Equal pairs: leftmost first ("aaa" -> "aa" "a").
  json doc2 = document(bpe({"a", "aa"}, {"a a"}));
  EXPECT_EQ(load(doc2).encode("aaa"), (Ids{1, 0}));
  EXPECT_EQ(load(doc2).encode("aaaa"), (Ids{1, 1}));
}

TEST(TokenizerBpe, PairAndStringMergesAreEquivalent) {
  json a = document(bpe({"a", "b", "ab"}, {"a b"}));
  json b = document(bpe_json({"a", "b", "ab"}, json::array({json::array({"a", "b"})})));
  EXPECT_EQ(load(a).encode("abab"), load(b).encode("abab"));
  EXPECT_EQ(load(a).encode("abab"), (Ids{2, 2}));
}

TEST(TokenizerBpe, CharacterLevelVocabularyWithoutMerges) {
  json m = bpe({"<unk>", "h", "i", " "});
  m["unk_token"] = "<unk>";
  const Tokenizer tok = load(document(m));
  EXPECT_EQ(tok.encode("hi hi"), (Ids{1, 2, 3, 1, 2}));
  EXPECT_EQ(tok.encode("hxyi"), (Ids{1, 0, 0, 2}));  // unknowns not fused
  EXPECT_EQ(tok.decode({1, 2}), "h i");             // no decoder: tokens joined by spaces
}

TEST(TokenizerBpe, FusedUnknownsAndMissingUnknownToken) {
  json m = bpe({"<unk>", "h", "i"});
  m["unk_token"] = "<unk>";
  m["fuse_unk"] = true;
  EXPECT_EQ(load(document(m)).encode("hxyzi"), (Ids{1, 0, 2}));
  json no_unk = bpe({"h", "i"});
  EXPECT_EQ(load(document(no_unk)).encode("hxyzi"), (Ids{0, 1}));  // dropped, as in HF
}

TEST(TokenizerBpe, IgnoreMergesTakesWholeWords) {
  json m = bpe({"a", "b", "c", "ab", "abc"}, {"a b"});  // "abc" unreachable by merges
  EXPECT_EQ(load(document(m)).encode("abc"), (Ids{3, 2}));
  m["ignore_merges"] = true;
  EXPECT_EQ(load(document(m)).encode("abc"), (Ids{4}));
}

TEST(TokenizerBpe, ContinuingSubwordPrefixAndSuffix) {
  json m = bpe({"h", "##e", "##y</w>", "##ey</w>", "he", "hey</w>"}, {"##e ##y</w>", "h ##ey</w>"});
  m["continuing_subword_prefix"] = "##";
  m["end_of_word_suffix"] = "</w>";
  json doc = document(m);
  doc["decoder"] = {{"type", "BPEDecoder"}, {"suffix", "</w>"}};
  const Tokenizer tok = load(doc);
  EXPECT_EQ(tok.encode("hey"), (Ids{5}));
  EXPECT_EQ(tok.token_bytes(5), "hey ");
}

// ---------------------------------------------------------------------------
// SentencePiece style: byte fallback, normalizer, template, decoding
// ---------------------------------------------------------------------------
TEST(TokenizerSentencePiece, EncodesWithPrependAndByteFallback) {
  const Tokenizer tok = load(llama2_style());
  const int32_t hello = *tok.token_to_id(kSpm + "hello");
  EXPECT_EQ(tok.encode("hello"), (Ids{hello}));
  EXPECT_EQ(tok.encode("hello", true), (Ids{1, hello}));
  // "é" is not in the vocabulary: its two UTF-8 bytes fall back to <0xC3> <0xA9>.
  const Ids e = tok.encode("é");
  EXPECT_EQ(e, (Ids{*tok.token_to_id(kSpm), 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.decode(e), "é");
  EXPECT_EQ(tok.decode(tok.encode("hello é world")), "hello é world");
}

TEST(TokenizerSentencePiece, InvalidByteSequencesDecodeToReplacementCharacters) {
  const Tokenizer tok = load(llama2_style());
  EXPECT_EQ(tok.decode({3 + 0xC3}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok.decode({3 + 0xE2, 3 + 0x96}), "\xEF\xBF\xBD\xEF\xBF\xBD");  // one per byte
  EXPECT_EQ(tok.decode({3 + 0xE2, 3 + 0x96, 3 + 0x81}), kSpm);
}

TEST(TokenizerSentencePiece, TokenBytes) {
  const Tokenizer tok = load(llama2_style());
  EXPECT_EQ(tok.token_bytes(*tok.token_to_id(kSpm + "hello")), " hello");
  EXPECT_EQ(tok.token_bytes(3 + 0x0A), "\n");
  EXPECT_EQ(tok.token_bytes(3 + 0xC3), "\xC3");
  EXPECT_EQ(tok.token_bytes(1), "<s>");
  EXPECT_EQ(tok.id_to_token(3 + 0x41), "<0x41>");
  // The bytes of an encoding spell the normalized text.
  std::string joined;
  for (int32_t id : tok.encode("hello \xF0\x9F\x98\x80 world")) joined += tok.token_bytes(id);
  EXPECT_EQ(joined, " hello \xF0\x9F\x98\x80 world");
}

TEST(TokenizerSentencePiece, SpecialTokensAndSkipping) {
  const Tokenizer tok = load(llama2_style());
  const int32_t hello = *tok.token_to_id(kSpm + "hello");
  // Non-normalized special tokens split the raw text; each piece is normalized alone.
  EXPECT_EQ(tok.encode("<s>hello</s>"), (Ids{1, hello, 2}));
  EXPECT_TRUE(tok.is_special(1));
  EXPECT_FALSE(tok.is_special(hello));
  EXPECT_EQ(tok.special_ids(), (Ids{0, 1, 2}));
  EXPECT_EQ(tok.decode({1, hello, 2}, false), "<s> hello</s>");
  EXPECT_EQ(tok.decode({1, hello, 2}, true), "hello");
  EXPECT_EQ(tok.unk_id(), std::optional<int32_t>(0));
}

TEST(TokenizerSentencePiece, MetaspacePrependSchemes) {
  json doc = llama2_style();
  doc["normalizer"] = nullptr;
  doc["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", kSpm},
                          {"prepend_scheme", "first"}, {"split", false}};
  const Tokenizer first = load(doc);
  const int32_t h = *first.token_to_id("h");
  const int32_t sh = *first.token_to_id(kSpm + "h");
  // Only the piece at the start of the text gets the ▁.
  EXPECT_EQ(first.encode("h</s>h"), (Ids{sh, 2, h}));
  doc["pre_tokenizer"]["prepend_scheme"] = "always";
  EXPECT_EQ(load(doc).encode("h</s>h"), (Ids{sh, 2, sh}));
  doc["pre_tokenizer"]["prepend_scheme"] = "never";
  EXPECT_EQ(load(doc).encode("h</s>h"), (Ids{h, 2, h}));
}

// ---------------------------------------------------------------------------
// Byte level
// ---------------------------------------------------------------------------
TEST(TokenizerByteLevel, EncodeDecodeAndTokenBytes) {
  const Tokenizer tok = load(gpt2_style());
  EXPECT_EQ(tok.encode("hel"), (Ids{'h', 257}));  // "h" "el"
  EXPECT_EQ(tok.encode(" hel"), (Ids{258}));      // "Ġhel"
  EXPECT_EQ(tok.token_bytes(258), " hel");
  EXPECT_EQ(tok.token_bytes(256), " h");
  EXPECT_EQ(tok.decode(tok.encode("a hel\n\tb")), "a hel\n\tb");
  EXPECT_EQ(tok.decode({0xE2}), "\xEF\xBF\xBD");  // a lone lead byte
  EXPECT_EQ(tok.encode("x<|endoftext|>y"), (Ids{'x', 259, 'y'}));
  EXPECT_EQ(tok.decode({'x', 259, 'y'}, true), "xy");
  EXPECT_EQ(tok.token_bytes(259), "<|endoftext|>");
}

TEST(TokenizerByteLevel, InvalidUtf8InputIsKeptByteForByte) {
  const Tokenizer tok = load(gpt2_style());
  const std::string text = "a\xFF\xC3 b\xE2\x96";
  std::string joined;
  for (int32_t id : tok.encode(text)) joined += tok.token_bytes(id);
  EXPECT_EQ(joined, text);
}

TEST(TokenizerByteLevel, Gpt2SplitPattern) {
  const Tokenizer tok = load(gpt2_style());
  const std::string G = "\xC4\xA0";
  // (pieces come out byte-level mapped: the emoji's four bytes are "ðŁĺĢ")
  const std::vector<std::string> want = {"Hello", G + "world", "'s", G + G, G + "123", "!!",
                                         G + "\xC3\xB0\xC5\x81\xC4\xBA\xC4\xA2"};
  // "Hello world's   123!! 😀" (the run of spaces leaves its last one to the number)
  std::vector<std::string> got = tok.pre_tokenize("Hello world's   123!! \xF0\x9F\x98\x80");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << i;
}

// ---------------------------------------------------------------------------
// Added tokens: lstrip / rstrip / single_word / normalized
// ---------------------------------------------------------------------------
TEST(TokenizerAddedTokens, StripAndSingleWord) {
  json m = bpe({"<unk>", "a", "b", " ", "_"});
  m["unk_token"] = "<unk>";
  json doc = document(m);
  doc["added_tokens"] = json::array({added("<m>", 5, true, {{"lstrip", true}}),
                                     added("<r>", 6, false, {{"rstrip", true}}),
                                     added("w", 7, false, {{"single_word", true}})});
  const Tokenizer tok = load(doc);
  EXPECT_EQ(tok.encode("a  <m> b"), (Ids{1, 5, 3, 2}));
  EXPECT_EQ(tok.encode("a <r>  b"), (Ids{1, 3, 6, 2}));
  EXPECT_EQ(tok.encode("a w b"), (Ids{1, 3, 7, 3, 2}));
  EXPECT_EQ(tok.encode("awb"), (Ids{1, 0, 2}));  // inside a word: not the added token
  EXPECT_EQ(tok.encode("_w"), (Ids{4, 0}));      // '_' is a word character
  EXPECT_EQ(tok.vocab_size(), 8);
  EXPECT_FALSE(tok.is_special(6));
  EXPECT_TRUE(tok.is_special(5));
}

TEST(TokenizerAddedTokens, IdsFollowTheModelVocabulary) {
  // As Hugging Face does: an added token not in the model gets the next free id
  // whatever its "id" field says.
  json doc = document(bpe({"a", "b"}));
  doc["added_tokens"] = json::array({added("<x>", 17, true), added("<y>", 3, true)});
  const Tokenizer tok = load(doc);
  EXPECT_EQ(tok.token_to_id("<x>"), std::optional<int32_t>(2));
  EXPECT_EQ(tok.token_to_id("<y>"), std::optional<int32_t>(3));
  EXPECT_EQ(tok.vocab_size(), 4);
}

TEST(TokenizerAddedTokens, LongestMatchWins) {
  json doc = document(bpe({"a"}));
  doc["added_tokens"] = json::array({added("<a>", 1, true), added("<a><a>", 2, true)});
  EXPECT_EQ(load(doc).encode("<a><a><a>"), (Ids{2, 1}));
}

// ---------------------------------------------------------------------------
// API edges
// ---------------------------------------------------------------------------
TEST(TokenizerApi, OutOfRangeIds) {
  const Tokenizer tok = load(gpt2_style());
  EXPECT_THROW(tok.id_to_token(-1), rlae::Error);
  EXPECT_THROW(tok.token_bytes(tok.vocab_size()), rlae::Error);
  EXPECT_FALSE(tok.is_special(100000));
  EXPECT_EQ(tok.decode({'a', 100000, -5, 'b'}), "ab");  // skipped, as in HF
  EXPECT_FALSE(tok.token_to_id("no such token").has_value());
}

TEST(TokenizerApi, ConcurrentEncodeIsConsistent) {
  const Tokenizer tok = load(llama2_style());
  const std::string text = "hello world hello é hellohello";
  const Ids want = tok.encode(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ok[t] += tok.encode(text) == want;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 200);
}

// ---------------------------------------------------------------------------
// Unicode helpers
// ---------------------------------------------------------------------------
TEST(Unicode, Classes) {
  using namespace rlae::unicode;
  EXPECT_TRUE(is_letter(U'a'));
  EXPECT_TRUE(is_letter(U'\u00e9'));
  EXPECT_TRUE(is_letter(U'\u4e2d'));
  EXPECT_FALSE(is_letter(U'1'));
  EXPECT_TRUE(is_number(U'\u0663'));  // Arabic-indic three
  EXPECT_TRUE(is_number(U'\u00bd'));  // ½ (No)
  EXPECT_TRUE(is_whitespace(U'\u3000'));
  EXPECT_TRUE(is_whitespace(U'\u0085'));
  EXPECT_FALSE(is_whitespace(U'\u200b'));
  EXPECT_FALSE(is_whitespace(0x1C));  // Python's isspace() says yes; Unicode White_Space no
  EXPECT_TRUE(is_word(0x200D));
  EXPECT_FALSE(is_word_onig(0x200D));
  EXPECT_FALSE(is_letter(kInvalidByteBase + 0xFF));
}

TEST(Unicode, Utf8Lossy) {
  using rlae::unicode::utf8_lossy;
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8_lossy("abc"), "abc");
  EXPECT_EQ(utf8_lossy("\xE2\x82" "A"), R + "A");  // truncated sequence: one replacement
  EXPECT_EQ(utf8_lossy("\xC0\x80"), R + R);        // overlong: each byte
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), R + R + R);  // surrogate
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), R);
}

TEST(Unicode, Nfc) {
  using rlae::unicode::nfc;
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                     // e + acute -> é
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                  // Angstrom sign -> Å
  // q + dot below + dot above: reordered, nothing composes with q.
  EXPECT_EQ(nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(nfc("\xFF" "e\xCC\x81"), "\xFF\xC3\xA9");          // invalid bytes pass through
}

}  // namespace
