// rlae bench tokenizer: tokenizer.json load time and one-thread encode throughput of
// rlae beside Hugging Face tokenizers on the same files and the same corpus, in one
// run; prints the ratios and whether both sides gave the same ids.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/rng.h"
#include "common/tokenizer.h"
#include "launch/bench.h"
#include "launch/commands.h"
#include "rlae_build_info.h"

namespace rlae::cli {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A deterministic mixed corpus: prose, numbers and maths, code, other scripts.
std::string make_corpus(int lines) {
  static const char* const kWords[] = {
      "the", "of", "and", "to", "in", "is", "was", "for", "on", "that", "with", "as", "by",
      "at", "from", "model", "ensemble", "weights", "policy", "reward", "token", "answer",
      "Tom", "has", "apples", "buys", "more", "How", "many", "does", "he", "have", "now?",
      "It's", "don't", "we'll", "they've", "I'm", "naïve", "café", "résumé", "Straße",
      "Москва", "привет", "東京", "日本語", "你好", "世界", "مرحبا", "नमस्ते", "😀", "👍🏽",
      "(x+1)", "f(x)", "==", "+=", "->", "{", "}", "[]", "#include", "return", "def", "self.x",
      "12", "345", "6789", "3.14", "1,000", "$5.99", "2024-01-15", "\n", "\t", "  "};
  SplitMix64 rng(2026);
  std::string out;
  for (int l = 0; l < lines; ++l) {
    const int n = 8 + static_cast<int>(rng.below(40));
    for (int i = 0; i < n; ++i) {
      if (i) out += ' ';
      out += kWords[rng.below(sizeof(kWords) / sizeof(kWords[0]))];
    }
    if (l + 1 < lines) out += '\n';
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string default_tokenizer(const char* name) {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string(".");
  dir = dir.substr(0, dir.rfind('/'));
  return dir + "/tests/real_tokenizers/" + name + "/tokenizer.json";
}

}  // namespace

int bench_tokenizer(int argc, const char* const* argv) {
  po::options_description desc("Options");
  desc.add_options()
      ("tokenizers", opt<std::string>("FILES", ""),
       "comma-separated tokenizer.json files (default: Llama 3 and Mistral v3 of the real-tokenizer "
       "test fixtures, <build>/tests/real_tokenizers, made by 'ctest -R real_tokenizer')")
      ("lines", opt<int>("N", 4000), "corpus lines (generated, ~40 words each)")
      ("corpus", opt<std::string>("FILE", ""), "encode this text file instead, one input a line")
      ("loads", opt<int>("N", 3), "loads per side; the best is reported")
      ("repeat", opt<int>("N", 3), "encode passes per side; the best is reported")
      ("python", opt<std::string>("PATH", ""), "Python with tokenizers (default: .venv of the source tree)")
      ("json", opt<std::string>("FILE", ""), "also write the results as JSON");
  const CommandSpec spec{"bench tokenizer",
                         "tokenizer.json load time and encode throughput against Hugging Face tokenizers",
                         "rlae bench tokenizer [--tokenizers a.json,b.json] [--lines N]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  const int loads = (*vm)["loads"].as<int>(), repeat = (*vm)["repeat"].as<int>();
  RLAE_USAGE_CHECK(loads >= 1 && repeat >= 1 && (*vm)["lines"].as<int>() >= 1,
                   "rlae bench tokenizer: --loads, --repeat and --lines must be >= 1");
  std::vector<std::string> files;
  if ((*vm)["tokenizers"].as<std::string>().empty())
    files = {default_tokenizer("llama3"), default_tokenizer("mistral_v3")};
  else
    files = split_list((*vm)["tokenizers"].as<std::string>(), "--tokenizers");
  for (const std::string& f : files)
    RLAE_USAGE_CHECK(file_exists(f), "rlae bench tokenizer: no tokenizer file ", f,
                     " (make the defaults with 'ctest -R real_tokenizer' in the build folder, or "
                     "name files with --tokenizers)");
  const std::string python = find_bench_python((*vm)["python"].as<std::string>());
  const std::string script = std::string(RLAE_SOURCE_DIR) + "/launch/bench_hf.py";

  std::string corpus_path = (*vm)["corpus"].as<std::string>();
  std::string text;
  if (corpus_path.empty()) {
    text = make_corpus((*vm)["lines"].as<int>());
    corpus_path = "/tmp/rlae-bench-tokenizer-" + std::to_string(::getpid()) + ".txt";
    write_file_atomic(corpus_path, text);
  } else {
    text = read_file(corpus_path);
  }
  const std::vector<std::string> lines = split_lines(text);
  std::printf("corpus: %zu lines, %.1f MB; one thread each side\n", lines.size(), text.size() / 1e6);
  std::printf("%-24s %10s %10s %7s %14s %14s %7s  %s\n", "tokenizer", "load rlae", "load HF",
              "ratio", "rlae tok/s", "HF tok/s", "ratio", "same ids");
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : files) {
    double load_s = 1e30;
    std::optional<Tokenizer> tok;
    for (int i = 0; i < loads; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      tok = Tokenizer::from_file(file);
      load_s = std::min(load_s, seconds_since(t0));
    }
    double encode_s = 1e30;
    int64_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      int64_t n = 0;
      for (const std::string& line : lines) n += static_cast<int64_t>(tok->encode(line).size());
      encode_s = std::min(encode_s, seconds_since(t0));
      tokens = n;
    }
    int64_t checksum = 0;
    for (std::size_t i = 0; i < lines.size() && i < 200; ++i)
      for (int32_t id : tok->encode(lines[i])) checksum = (checksum * 31 + id) % 1000000007;
    const std::string out = run_command(
        "RAYON_NUM_THREADS=1 " + shell_quote(python) + " " + shell_quote(script) +
        " tokenizer --tokenizer " + shell_quote(file) + " --corpus " + shell_quote(corpus_path) +
        " --loads " + std::to_string(loads) + " --repeat " + std::to_string(repeat) + " 2>/dev/null");
    const nlohmann::json hf = nlohmann::json::parse(out.substr(out.rfind('{')));
    const double hf_load = hf["load_s"].get<double>();
    const double hf_tps = hf["tokens_per_s"].get<double>();
    const double tps = tokens / encode_s;
    const bool same = hf["tokens"].get<int64_t>() == tokens && hf["checksum"].get<int64_t>() == checksum;
    std::string name = file;
    const std::size_t slash = name.rfind("/tokenizer.json");
    if (slash != std::string::npos) name = name.substr(0, slash);
    if (name.rfind('/') != std::string::npos) name = name.substr(name.rfind('/') + 1);
    std::printf("%-24s %9.3fs %9.3fs %6.2fx %14.0f %14.0f %6.2fx  %s\n", name.c_str(), load_s, hf_load,
                hf_load / load_s, tps, hf_tps, tps / hf_tps, same ? "yes" : "NO");
    std::fflush(stdout);
    results.push_back({{"tokenizer", file}, {"rlae_load_s", load_s}, {"hf_load_s", hf_load},
                       {"rlae_tokens_per_s", tps}, {"hf_tokens_per_s", hf_tps}, {"tokens", tokens},
                       {"same_ids", same}});
  }
  if ((*vm)["corpus"].as<std::string>().empty()) ::unlink(corpus_path.c_str());
  const std::string json_path = (*vm)["json"].as<std::string>();
  if (!json_path.empty()) write_file_atomic(json_path, results.dump(2) + "\n");
  return kExitOk;
}

}  // namespace rlae::cli
