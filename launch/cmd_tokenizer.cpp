// rlae tokenizer train | encode: learn a BPE tokenizer from a corpus; encode
// strings with any tokenizer.json (for checks against Hugging Face).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/bpe_train.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/prompt.h"
#include "common/tokenizer.h"
#include "launch/commands.h"

namespace rlae::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One JSONL line, or an error naming the file and line.
nlohmann::json parse_line(const std::string& line, const std::string& path, int64_t line_no,
                          const char* expected) {
  try {
    return nlohmann::json::parse(line);
  } catch (const std::exception&) {
    RLAE_CHECK(false, path, ":", line_no, ": not ", expected);
  }
  return {};
}

// Feeds one corpus file to the trainer. JSONL (*.jsonl, *.json): with the default
// fields question,answer each problem is seen exactly as a member is trained on
// it (prompt + worked solution); other fields are joined by newlines. Any other
// file: one text per line.
int64_t feed_corpus(BpeTrainer& trainer, const std::string& path,
                    const std::vector<std::string>& fields) {
  std::ifstream in(path, std::ios::binary);
  RLAE_CHECK(in, "rlae tokenizer train: cannot open corpus ", path);
  const bool jsonl = ends_with(path, ".jsonl") || ends_with(path, ".json");
  const bool problem = fields == std::vector<std::string>{"question", "answer"};
  std::string line;
  int64_t n = 0, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!jsonl) {
      trainer.add_text(line);
      ++n;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = parse_line(line, path, line_no, "a JSON object");
    RLAE_CHECK(j.is_object(), path, ":", line_no, ": not a JSON object");
    std::vector<std::string> values;
    for (const auto& f : fields) {
      RLAE_CHECK(j.contains(f) && j[f].is_string(), path, ":", line_no, ": no string field '", f,
                 "' (choose fields with --field)");
      values.push_back(j[f].get<std::string>());
    }
    if (problem) {
      trainer.add_text(format_prompt(values[0]) + format_target(values[1]));
    } else {
      std::string text;
      for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "\n" : "") + values[i];
      trainer.add_text(text);
    }
    ++n;
  }
  RLAE_CHECK(!in.bad(), "rlae tokenizer train: read error in ", path);
  return n;
}

int tokenizer_train(int argc, const char* const* argv) {
  po::options_description desc("tokenizer train");
  desc.add_options()
      ("corpus", opt<std::string>("FILE[,FILE..]"),
       "training text: JSONL problems (question + worked solution, as members see them) or plain "
       "text, one text per line")
      ("out", opt<std::string>("DIR|FILE"), "a directory (tokenizer.json + tokenizer_config.json) "
       "or a .json file to write")
      ("style", opt<std::string>("bytelevel|metaspace", "bytelevel"),
       "bytelevel: GPT-2/Qwen byte alphabet; metaspace: Llama/SentencePiece ▁ with byte fallback")
      ("vocab-size", opt<int>("N", 1000), "vocabulary size, special tokens included")
      ("min-frequency", opt<long long>("N", 2), "merge only pairs seen at least N times")
      ("special-tokens", opt<std::string>("LIST", ""),
       "comma-separated special tokens, first in the vocabulary (default: <|endoftext|> for "
       "bytelevel; <unk>,<s>,</s> for metaspace)")
      ("split-digits", opt<bool>("BOOL", true), "every digit a token of its own")
      ("field", opt<std::string>("LIST", "question,answer"), "JSON fields that make a text");
  const CommandSpec spec{"tokenizer train", "learn a BPE tokenizer from a corpus",
                         "rlae tokenizer train --corpus FILE --out DIR --style bytelevel|metaspace "
                         "--vocab-size N"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("corpus"), "rlae tokenizer train: --corpus FILE is required");
  RLAE_USAGE_CHECK(vm->count("out"), "rlae tokenizer train: --out DIR|FILE is required");
  BpeTrainOptions o;
  const std::string style = (*vm)["style"].as<std::string>();
  RLAE_USAGE_CHECK(style == "bytelevel" || style == "metaspace",
                   "rlae tokenizer train: --style must be bytelevel or metaspace, got '", style, "'");
  o.style = style == "bytelevel" ? BpeStyle::ByteLevel : BpeStyle::Metaspace;
  o.vocab_size = (*vm)["vocab-size"].as<int>();
  o.min_frequency = (*vm)["min-frequency"].as<long long>();
  const std::string specials = (*vm)["special-tokens"].as<std::string>();
  if (!specials.empty()) o.special_tokens = split_list(specials, "--special-tokens");
  o.split_digits = (*vm)["split-digits"].as<bool>();
  const auto fields = split_list((*vm)["field"].as<std::string>(), "--field");
  const auto corpora = split_list((*vm)["corpus"].as<std::string>(), "--corpus");

  const auto t0 = std::chrono::steady_clock::now();
  BpeTrainer trainer(o);
  for (const auto& c : corpora) feed_corpus(trainer, c, fields);
  RLAE_CHECK(trainer.stats().words > 0, "rlae tokenizer train: the corpus (",
             (*vm)["corpus"].as<std::string>(), ") has no text");
  const std::string tokenizer_json = trainer.train();

  std::string out = (*vm)["out"].as<std::string>();
  std::string config_path, recipe_path = out + ".ini";
  if (!ends_with(out, ".json")) {
    make_dirs(out);
    config_path = join_path(out, "tokenizer_config.json");
    recipe_path = join_path(out, "tokenizer-train.ini");
    out = join_path(out, "tokenizer.json");
  }
  write_file_atomic(out, tokenizer_json);
  if (!config_path.empty()) write_file_atomic(config_path, trainer.tokenizer_config_json());
  const auto& s = trainer.stats();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: vocabulary %d (%zu special, alphabet %d, %d merges) from %lld texts, "
              "%lld words (%lld distinct) in %.1f s\n",
              out.c_str(), s.vocab_size, trainer.options().special_tokens.size(), s.alphabet,
              s.merges, static_cast<long long>(s.texts), static_cast<long long>(s.words),
              static_cast<long long>(s.distinct_words), secs);
  if (s.vocab_size < o.vocab_size)
    std::printf("note: stopped at %d < --vocab-size %d: no pair left with --min-frequency %lld\n",
                s.vocab_size, o.vocab_size, static_cast<long long>(o.min_frequency));
  write_resolved_config(recipe_path, desc, *vm);
  return kExitOk;
}

// Each input line is a JSON string; each output line {"ids": [...], "decoded": "..."}.
int tokenizer_encode(int argc, const char* const* argv) {
  po::options_description desc("tokenizer encode");
  desc.add_options()
      ("tokenizer", opt<std::string>("FILE"), "tokenizer.json")
      ("input", opt<std::string>("FILE"), "one JSON string per line")
      ("output", opt<std::string>("FILE", "-"), "JSONL of ids and decoded text ('-': stdout)")
      ("add-special-tokens", opt<bool>("BOOL", false), "apply the post-processor template");
  const CommandSpec spec{"tokenizer encode", "encode strings with a tokenizer.json",
                         "rlae tokenizer encode --tokenizer FILE --input STRINGS.jsonl"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("tokenizer"), "rlae tokenizer encode: --tokenizer FILE is required");
  RLAE_USAGE_CHECK(vm->count("input"), "rlae tokenizer encode: --input FILE is required");
  const Tokenizer tok = Tokenizer::from_file((*vm)["tokenizer"].as<std::string>());
  const std::string input = (*vm)["input"].as<std::string>();
  const bool specials = (*vm)["add-special-tokens"].as<bool>();
  std::ifstream in(input, std::ios::binary);
  RLAE_CHECK(in, "rlae tokenizer encode: cannot open ", input);
  std::string result, line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const nlohmann::json j = parse_line(line, input, line_no, "a JSON string");
    RLAE_CHECK(j.is_string(), input, ":", line_no, ": not a JSON string");
    const auto ids = tok.encode(j.get<std::string>(), specials);
    nlohmann::json o = {{"ids", ids}, {"decoded", tok.decode(ids)}};
    result += o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  const std::string output = (*vm)["output"].as<std::string>();
  if (output == "-") std::cout << result;
  else write_file_atomic(output, result);
  return kExitOk;
}

}  // namespace

int cmd_tokenizer(int argc, const char* const* argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "train") return tokenizer_train(argc - 1, argv + 1);
  if (sub == "encode") return tokenizer_encode(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h" || sub.empty()) {
    std::cout << "usage: rlae tokenizer train|encode [options]   (rlae tokenizer train --help)\n";
    return sub.empty() ? kExitUsage : kExitOk;
  }
  RLAE_USAGE_CHECK(false, "rlae tokenizer: expected 'train' or 'encode', got '", sub, "'");
  return kExitUsage;
}

}  // namespace rlae::cli
