// libFuzzer target for the tokenizer.json parser and the tokenizer pipeline.
//
// Build and run from the repository root (one command; clang 14+):
//
//   tests/fuzz/run.sh tokenizer [SECONDS]
//
// The corpus directory is created and seeded with a few small tokenizer.json
// files (byte-level, SentencePiece style, Llama 3 split, character level) when it
// is missing or empty; run.sh seeds it with the zoo's tokenizer.json files. An input is the tokenizer.json bytes, optionally followed
// by a NUL byte and a text to encode. The JSON is loaded with Tokenizer::from_json
// (from_file's parser, without the file: writing a file per execution on ext4
// flushed it to disk on close, which held this target at ~830 execs/s); a
// malformed file must raise rlae::Error, anything
// else (a crash, a sanitizer report, another exception such as
// rlae::InternalError escaping) is a finding. A loaded tokenizer then encodes the
// text and a few fixed strings, decodes the ids, and reads every token's bytes.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const char* const kSeeds[] = {
    // Byte-level BPE (GPT-2 regex), an added special token, a TemplateProcessing BOS.
    R"({"version":"1.0","added_tokens":[{"id":6,"content":"<|eot|>","single_word":false,)"
    R"("lstrip":false,"rstrip":false,"normalized":false,"special":true}],"normalizer":null,)"
    R"("pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,)"
    R"("use_regex":true},"post_processor":{"type":"TemplateProcessing","single":[)"
    R"({"SpecialToken":{"id":"<|eot|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],)"
    R"("special_tokens":{"<|eot|>":{"id":"<|eot|>","ids":[6],"tokens":["<|eot|>"]}}},)"
    R"("decoder":{"type":"ByteLevel"},"model":{"type":"BPE","dropout":null,"unk_token":null,)"
    R"("fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{"a":0,"b":1,)"
    "\"\xC4\xA0\":2,\"ab\":3,\"\xC4\xA0" "a\":4,\"\xC4\xA0" "ab\":5},\"merges\":[[\"a\",\"b\"],"
    "[\"\xC4\xA0\",\"a\"],[\"\xC4\xA0" "a\",\"b\"]]}}",
    // SentencePiece style: Prepend + Replace normalizer, byte fallback, Llama 2 decoder.
    R"({"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","special":true,)"
    R"("normalized":false}],"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend",)"
    "\"prepend\":\"\xE2\x96\x81\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
    "\"content\":\"\xE2\x96\x81\"}]},\"pre_tokenizer\":null,\"decoder\":{\"type\":\"Sequence\","
    "\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\xE2\x96\x81\"},\"content\":\" \"},"
    R"({"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},)"
    R"("model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,)"
    R"("vocab":{"<unk>":0,"<0x41>":1,"<0xC3>":2,"<0xA9>":3,"h":4,"i":5,)"
    "\"\xE2\x96\x81\":6,\"\xE2\x96\x81h\":7},\"merges\":[\"\xE2\x96\x81 h\"]}}",
    // Llama 3 style Split + ByteLevel without regex, NFC normalizer.
    R"({"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"Sequence","pretokenizers":[)"
    R"({"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?)"
    R"(\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},)"
    R"("behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,)"
    R"("use_regex":false}]},"decoder":{"type":"ByteLevel"},"model":{"type":"BPE",)"
    R"("ignore_merges":true,"vocab":{"1":0,"2":1,"12":2,"x":3},"merges":["1 2"]}})",
    // Character level, Metaspace pre-tokenizer and decoder, Digits, added tokens with strip.
    R"({"added_tokens":[{"content":"[M]","lstrip":true,"rstrip":true,"single_word":true}],)"
    R"("pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits",)"
    "\"individual_digits\":true},{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\","
    R"("prepend_scheme":"first","split":true}]},"decoder":{"type":"Metaspace",)"
    "\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"first\"},\"model\":{\"vocab\":"
    "{\"<unk>\":0,\"a\":1,\"1\":2,\"\xE2\x96\x81\":3},\"unk_token\":\"<unk>\",\"merges\":[]}}",
};

const char* const kTexts[] = {
    "",
    " Hello world's 123456 <|eot|> \xF0\x9F\x98\x80\n\n  \t x",
    "hi [M] a1 \xC3\xA9 e\xCC\x81 \xFF\xFE <unk> <0x41>",
    "\r\n\r\n   'S 'll \xE2\x80\xA8 \xE3\x80\x80 \xE4\xB8\xAD\xE6\x96\x87",
};

void seed_corpus(const char* dir) {
  if (!fuzz::empty_corpus_dir(dir)) return;
  int n = 0;
  for (const char* seed : kSeeds) {
    std::ofstream(std::string(dir) + "/seed" + std::to_string(n++)) << seed;
    // The same seed with a text to encode after a NUL.
    std::ofstream out(std::string(dir) + "/seed" + std::to_string(n++), std::ios::binary);
    out << seed;
    out.put('\0');
    out << kTexts[1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const char* dir = fuzz::corpus_dir(*argc, *argv)) seed_corpus(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string json_text = input.substr(0, nul);
  std::vector<std::string> texts(std::begin(kTexts), std::end(kTexts));
  if (nul != std::string::npos) texts.push_back(input.substr(nul + 1));

  try {
    const rlae::Tokenizer tok = rlae::Tokenizer::from_json(json_text, "fuzz-input");
    const int32_t n = tok.vocab_size();
    for (const std::string& text : texts) {
      for (bool special : {false, true}) {
        const std::vector<int32_t> ids = tok.encode(text, special);
        std::string bytes;
        for (int32_t id : ids) {
          if (id < 0 || id >= n) std::abort();  // an id outside the vocabulary
          bytes += tok.token_bytes(id);
          (void)tok.is_special(id);
        }
        (void)tok.decode(ids, false);
        (void)tok.decode(ids, true);
      }
      (void)tok.pre_tokenize(text);
    }
    for (int32_t id = 0; id < n && id < 4096; ++id) {
      (void)tok.id_to_token(id);
      (void)tok.token_bytes(id);
      (void)tok.token_to_id(tok.id_to_token(id));
    }
    (void)tok.decode({-1, 0, 1, 2, n, n + 1, 3, 4}, true);
  } catch (const rlae::Error&) {
    // A malformed tokenizer.json: the expected, clean outcome.
  }
  return 0;
}
