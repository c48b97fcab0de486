// Union vocabulary over two tokenizer styles (ByteLevel and SentencePiece-like
// Metaspace with byte fallback), built from tokenizer.json files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <set>

#include "common/check.h"
#include "common/fs.h"
#include "common/vocab.h"

namespace rlae {
namespace {

// GPT-2 style: ByteLevel pre-tokenizer and decoder; "Ġ" is a space.
const char* kByteLevelJson = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 0, "content": "<|end|>", "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": null,
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": {"<|end|>": 0, "a": 1, "b": 2, "Ġ": 3, "ab": 4, "Ġa": 5, "Ġab": 6, "x": 7},
            "merges": ["a b", "Ġ a", "Ġa b"]}
})";

// Llama 2 style: Prepend("▁") + Replace(" ", "▁"), byte fallback.
const char* kMetaspaceJson = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": null,
  "post_processor": null,
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
    {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0x20>": 4, "<0x61>": 5, "<0x62>": 6,
                      "<0x63>": 7, "<0x78>": 8, "▁": 9, "a": 10, "b": 11, "c": 12, "▁a": 13, "bc": 14},
            "merges": ["▁ a", "b c"]}
})";

class UnionVocabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "rlae_vocab_" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + dir_;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    write_file_atomic(dir_ + "/bl.json", kByteLevelJson);
    write_file_atomic(dir_ + "/sp.json", kMetaspaceJson);
    members_ = {{Tokenizer::from_file(dir_ + "/bl.json"), {0}}, {Tokenizer::from_file(dir_ + "/sp.json"), {2}}};
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
  std::vector<VocabMember> members_;
};

TEST_F(UnionVocabTest, MapsEqualBytesToOneEntry) {
  const UnionVocab v = UnionVocab::build(members_);
  ASSERT_EQ(v.num_members(), 2);
  const auto& bl = v.member_to_union(0);
  const auto& sp = v.member_to_union(1);
  // "Ġa" and "▁a" are both the bytes " a"; "a" and "<0x61>" are both "a".
  EXPECT_EQ(bl[5], sp[13]);
  EXPECT_EQ(v.bytes(bl[5]), " a");
  EXPECT_EQ(bl[1], sp[10]);
  EXPECT_EQ(sp[5], sp[10]);
  EXPECT_EQ(bl[3], sp[9]);   // "Ġ" == "▁" == " "
  EXPECT_EQ(sp[4], sp[9]);   // <0x20> too
  // The ordinary token wins over its <0xNN> twin.
  EXPECT_EQ(v.union_to_member(1)[bl[1]], 10);
  // Both EOS map to the one union EOS; other specials stay apart from text.
  EXPECT_EQ(bl[0], v.eos());
  EXPECT_EQ(sp[2], v.eos());
  EXPECT_TRUE(v.is_special(sp[1]));
  EXPECT_NE(sp[1], v.eos());
  // Round trip: every member token's union entry maps back to a token with the same bytes.
  for (int m = 0; m < 2; ++m) {
    const Tokenizer& tok = members_[m].tokenizer;
    for (int32_t id = 0; id < tok.vocab_size(); ++id) {
      const int32_t u = v.member_to_union(m)[id];
      ASSERT_GE(u, 0);
      const int32_t back = v.union_to_member(m)[u];
      if (!v.is_special(u)) {
        EXPECT_EQ(tok.token_bytes(back), tok.token_bytes(id));
      }
    }
  }
}

TEST_F(UnionVocabTest, LackedTokensReadAndAppendBySubTokens) {
  const UnionVocab v = UnionVocab::build(members_);
  // "ab" and " ab" exist only in the ByteLevel member; "bc", "c" only in the other.
  const int32_t ab = v.member_to_union(0)[4], sab = v.member_to_union(0)[6];
  EXPECT_EQ(v.union_to_member(1)[ab], -1);
  // Appended without a prefix space: "a" "b"; read through the first sub-token "a".
  EXPECT_EQ(v.append_ids(1, ab), (std::vector<int32_t>{10, 11}));
  EXPECT_EQ(v.read_ids(1)[ab], 10);
  EXPECT_EQ(v.append_ids(1, sab), (std::vector<int32_t>{13, 11}));  // "▁a" "b"
  const int32_t bc = v.member_to_union(1)[14];
  // "bc" for the ByteLevel member: "b" then "c" -- which it lacks entirely: no spelling.
  EXPECT_TRUE(v.append_ids(0, bc).empty());
  EXPECT_EQ(v.read_ids(0)[bc], -1);
  EXPECT_EQ(v.append_ids(0, v.member_to_union(1)[11]), (std::vector<int32_t>{2}));  // "b"
  EXPECT_EQ(v.append_ids(1, v.eos()), (std::vector<int32_t>{2}));
  EXPECT_EQ(v.append_ids(0, v.eos()), (std::vector<int32_t>{0}));
  EXPECT_GT(v.missing(0), 0);
}

TEST_F(UnionVocabTest, CacheIsKeyedByContentsAndRebuilt) {
  const std::string cache = dir_ + "/cache/sub";
  const UnionVocab a = UnionVocab::load_or_build(members_, cache);
  const std::string key = UnionVocab::cache_key(members_);
  const std::string file = cache + "/union-" + key + ".bin";
  ASSERT_NO_THROW(read_file(file));
  const UnionVocab b = UnionVocab::load_or_build(members_, cache);
  EXPECT_TRUE(a == b);
  // A changed tokenizer file changes the key.
  std::string changed = kByteLevelJson;
  changed.replace(changed.find("\"x\": 7"), 6, "\"y\": 7");
  write_file_atomic(dir_ + "/bl.json", changed);
  std::vector<VocabMember> m2 = {{Tokenizer::from_file(dir_ + "/bl.json"), {0}}, members_[1]};
  EXPECT_NE(UnionVocab::cache_key(m2), key);
  write_file_atomic(dir_ + "/bl.json", kByteLevelJson);
  EXPECT_EQ(UnionVocab::cache_key(members_), key);
  // A corrupt cache file is rebuilt, not trusted.
  write_file_atomic(file, "RLAEVOCBgarbage");
  const UnionVocab c = UnionVocab::load_or_build(members_, cache);
  EXPECT_TRUE(a == c);
  EXPECT_GT(read_file(file).size(), 100u);
}

TEST_F(UnionVocabTest, NoOverlapOrNoEosIsAnError) {
  std::vector<VocabMember> bad = {members_[0], {members_[1].tokenizer, {}}};
  EXPECT_THROW(UnionVocab::build(bad), Error);
  bad = {members_[0], {members_[1].tokenizer, {99}}};
  EXPECT_THROW(UnionVocab::build(bad), Error);
}

}  // namespace
}  // namespace rlae
