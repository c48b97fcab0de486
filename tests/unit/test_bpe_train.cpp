// rlae::BpeTrainer: merges learned from a corpus, the vocabulary layout, limits,
// determinism, and lossless encoding of what the trained tokenizer writes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/bpe_train.h"
#include "common/check.h"
#include "common/tokenizer.h"

namespace rlae {
namespace {

using json = nlohmann::json;

std::string train(const BpeTrainOptions& o, const std::vector<std::string>& texts) {
  BpeTrainer t(o);
  for (const auto& s : texts) t.add_text(s);
  return t.train();
}

std::vector<std::string> tokens(const Tokenizer& tok, const std::string& text) {
  std::vector<std::string> out;
  for (const int32_t id : tok.encode(text)) out.push_back(tok.id_to_token(id));
  return out;
}

TEST(BpeTrain, MostFrequentPairsMergeFirst) {
  BpeTrainOptions o;
  o.style = BpeStyle::Metaspace;
  o.vocab_size = 3 + 256 + 3 + 2;  // specials, bytes, alphabet {▁, l, o}... and two merges
  // Words: "▁lo" x3 (first word), "lo" never alone. Pairs: (▁,l) 3, (l,o) 3.
  const std::string j = train(o, {"lo", "lo", "lo"});
  const json tj = json::parse(j);
  const auto& merges = tj["model"]["merges"];
  ASSERT_EQ(merges.size(), 2u);
  // Equal counts: ties go to the smaller pair by strings ("l" < "▁").
  EXPECT_EQ(merges[0], json::array({"l", "o"}));
  EXPECT_EQ(merges[1], json::array({"\xE2\x96\x81", "lo"}));
  const Tokenizer tok = Tokenizer::from_json(j);
  EXPECT_EQ(tokens(tok, "lo"), std::vector<std::string>{"\xE2\x96\x81lo"});
}

TEST(BpeTrain, CountsUpdateIncrementallyAcrossMerges) {
  BpeTrainOptions o;
  o.style = BpeStyle::ByteLevel;
  o.split_digits = false;
  o.vocab_size = 1 + 256 + 3;
  // Words "aaaa", "Ġaaaa" x3, "Ġabab": (a,a) 12 first; then (aa,aa) 4; then
  // (Ġ,aaaa) 3 beats (a,b) 2, which only counts right if counts were updated.
  const std::string j = train(o, {"aaaa aaaa aaaa aaaa abab"});
  const json tj = json::parse(j);
  const auto& merges = tj["model"]["merges"];
  ASSERT_EQ(merges.size(), 3u);
  EXPECT_EQ(merges[0], json::array({"a", "a"}));
  EXPECT_EQ(merges[1], json::array({"aa", "aa"}));     // count 4
  EXPECT_EQ(merges[2], json::array({"\xC4\xA0", "aaaa"}));  // "Ġ" + "aaaa" three times
  const Tokenizer tok = Tokenizer::from_json(j);
  EXPECT_EQ(tokens(tok, "aaaa"), std::vector<std::string>{"aaaa"});
}

TEST(BpeTrain, VocabularyLayoutAndLimits) {
  BpeTrainOptions o;
  o.style = BpeStyle::Metaspace;
  o.vocab_size = 300;
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) texts.push_back("Tom has 12 apples and 35 pears. 12 + 35 = 47. #### 47");
  BpeTrainer t(o);
  for (const auto& s : texts) t.add_text(s);
  const std::string j = t.train();
  EXPECT_EQ(t.stats().vocab_size, 300);
  EXPECT_EQ(t.stats().texts, 50);
  const Tokenizer tok = Tokenizer::from_json(j);
  EXPECT_EQ(tok.vocab_size(), 300);
  EXPECT_EQ(tok.token_to_id("<unk>"), 0);
  EXPECT_EQ(tok.token_to_id("<s>"), 1);
  EXPECT_EQ(tok.token_to_id("</s>"), 2);
  EXPECT_EQ(tok.token_to_id("<0x00>"), 3);
  EXPECT_EQ(tok.token_to_id("<0xFF>"), 258);
  EXPECT_TRUE(tok.is_special(2));
  // Digits stay single tokens; the template prepends <s>.
  for (const auto& piece : tokens(tok, "4712"))
    EXPECT_LE(piece.size(), 4u) << piece;
  EXPECT_EQ(tok.encode("apples", true).front(), 1);
  // Unseen characters fall back to bytes and decode losslessly.
  const std::string odd = "Zoë paid 3 € 🚀";
  EXPECT_EQ(tok.decode(tok.encode(odd)), odd);
  EXPECT_EQ(tok.decode(tok.encode(texts[0])), texts[0]);
  EXPECT_NE(t.tokenizer_config_json().find("\"eos_token\": \"</s>\""), std::string::npos);
}

TEST(BpeTrain, MinFrequencyStopsEarly) {
  BpeTrainOptions o;
  o.vocab_size = 1000;
  o.min_frequency = 3;
  BpeTrainer t(o);
  t.add_text("xy xy zw");
  t.train();
  EXPECT_EQ(t.stats().merges, 0);  // (Ġ,x),(x,y) twice: below 3
  EXPECT_EQ(t.stats().vocab_size, 1 + 256);
}

TEST(BpeTrain, ByteLevelIsLosslessAndDeterministic) {
  BpeTrainOptions o;
  o.vocab_size = 400;
  std::vector<std::string> texts = {"Question: Ann buys 4 pens at 3 dollars each.\nAnswer: 4 * 3 = 12. #### 12",
                                    "Question: Bo has 19 cards and gives away 7.\nAnswer: 19 - 7 = 12. #### 12",
                                    "naïve café, straße; 日本語 ☃\t\ttabs  and   spaces"};
  const std::string a = train(o, texts);
  const std::string b = train(o, texts);
  EXPECT_EQ(a, b);
  const Tokenizer tok = Tokenizer::from_json(a);
  for (const auto& s : texts) EXPECT_EQ(tok.decode(tok.encode(s)), s);
  const std::string bytes("\xff\xfe raw \x01 bytes", 15);
  std::string spelled;
  for (const int32_t id : tok.encode(bytes)) spelled += tok.token_bytes(id);
  EXPECT_EQ(spelled, bytes);
  EXPECT_FALSE(tok.unk_id().has_value());
}

TEST(BpeTrain, BadOptionsAreUsageErrors) {
  BpeTrainOptions o;
  o.vocab_size = 100;
  EXPECT_THROW(BpeTrainer{o}, UsageError);
  o.vocab_size = 1000;
  o.min_frequency = 0;
  EXPECT_THROW(BpeTrainer{o}, UsageError);
  o.min_frequency = 2;
  o.style = BpeStyle::Metaspace;
  o.special_tokens = {"<pad>"};
  EXPECT_THROW(BpeTrainer{o}, UsageError);
  o.special_tokens = {"<unk>", "<s>", "</s>", "<s>"};
  EXPECT_THROW(BpeTrainer{o}, UsageError);
}

}  // namespace
}  // namespace rlae
