// rlae bench decode: greedy KV-cache decoding tokens/s of rlae's member runtime
// beside Hugging Face transformers (eager) on the same model, prompts and
// thread count, in one run; prints the ratio.
#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "actors/model.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/rng.h"
#include "kernels/placement.h"
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

// The prompt ids bench_hf.py draws too (splitmix64 from seed 1234).
std::vector<std::vector<int32_t>> prompt_ids(int64_t batch, int64_t length, int64_t vocab) {
  SplitMix64 rng(1234);
  std::vector<std::vector<int32_t>> out(batch);
  for (auto& row : out) {
    for (int64_t i = 0; i < length; ++i)
      row.push_back(static_cast<int32_t>(3 + rng.below(static_cast<uint64_t>(vocab - 3))));
  }
  return out;
}

struct Timing {
  double total_s = 0, prefill_s = 0;
  std::vector<int64_t> first_tokens;  // of row 0
};

// Prefill then greedy steps, as bench_hf.py does: argmax of the last logits.
Timing time_rlae(CausalLM& model, int64_t batch, int64_t prompt_len, int64_t new_tokens) {
  c10::InferenceMode guard;
  const auto prompts = prompt_ids(batch, prompt_len, model.config().vocab_size);
  Timing t;
  const auto t0 = std::chrono::steady_clock::now();
  LMOutput out = model.prefill(prompts);
  t.prefill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<int32_t> ids(batch);
  auto take = [&](const at::Tensor& logits) {
    const at::Tensor tok = logits.argmax(1).to(at::kInt).cpu().contiguous();  // waits for the GPU too
    std::copy(tok.data_ptr<int32_t>(), tok.data_ptr<int32_t>() + batch, ids.begin());
    if (t.first_tokens.size() < 8) t.first_tokens.push_back(ids[0]);
  };
  take(out.logits);
  for (int64_t i = 1; i < new_tokens; ++i) take(model.step(ids).logits);
  t.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

}  // namespace

std::string run_command(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  RLAE_CHECK(p != nullptr, "cannot run: ", command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  RLAE_CHECK(status == 0, "command failed (status ", status, "): ", command);
  return out;
}

std::string find_bench_python(const std::string& given) {
  if (!given.empty()) {
    RLAE_CHECK(file_exists(given), "--python ", given, ": no such interpreter");
    return given;
  }
  if (const char* env = std::getenv("RLAE_PYTHON"); env != nullptr && *env) return env;
  const std::string venv = std::string(RLAE_SOURCE_DIR) + "/.venv/bin/python";
  RLAE_CHECK(file_exists(venv), "no Python with transformers: run launch/setup-python.sh, or pass --python");
  return venv;
}

int bench_decode(int argc, const char* const* argv) {
  po::options_description desc("bench decode");
  desc.add_options()
      ("sizes", opt<std::string>("LIST", "tiny,0.5b"), "model sizes: tiny, 0.5b (Qwen2.5-0.5B shape, random weights)")
      ("batches", opt<std::string>("LIST", "1,32"), "batch sizes")
      ("prompt-len", opt<int>("N", 32), "prompt tokens")
      ("new-tokens", opt<int>("N", 32), "generated tokens per sequence")
      ("threads", opt<int>("N", 0), "threads for both sides (0: all cores)")
      ("device", opt<std::string>("cpu|cuda[:N]", "cpu"), "where both sides decode")
      ("dtype", opt<std::string>("f32|bf16|f16", "f32"), "compute dtype of both sides (the mixture stays f32)")
      ("work-dir", opt<std::string>("DIR", "bench-models"), "where the random models are written (reused)")
      ("python", opt<std::string>("PATH", ""), "Python with transformers (default: .venv of the source tree)")
      ("json", opt<std::string>("FILE", ""), "also write the results as JSON");
  const CommandSpec spec{"bench decode", "member decoding speed against Hugging Face transformers",
                         "rlae bench decode [--sizes tiny,0.5b] [--batches 1,32]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  // Option values first (exit 2), then what they name.
  RLAE_USAGE_CHECK((*vm)["prompt-len"].as<int>() >= 1 && (*vm)["new-tokens"].as<int>() >= 2,
                   "rlae bench decode: --prompt-len >= 1 and --new-tokens >= 2");
  for (const std::string& size : split_list((*vm)["sizes"].as<std::string>(), "--sizes"))
    RLAE_USAGE_CHECK(size == "tiny" || size == "0.5b", "--sizes: expected tiny and/or 0.5b, got '", size, "'");
  const std::vector<int64_t> batches = parse_int_list((*vm)["batches"].as<std::string>(), "--batches", 1, 1 << 20);
  const std::string python = find_bench_python((*vm)["python"].as<std::string>());
  const std::string script = std::string(RLAE_SOURCE_DIR) + "/launch/bench_hf.py";
  const std::string work = (*vm)["work-dir"].as<std::string>();
  const int prompt_len = (*vm)["prompt-len"].as<int>();
  const int new_tokens = (*vm)["new-tokens"].as<int>();
  int threads = (*vm)["threads"].as<int>();
  if (threads <= 0) threads = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  RLAE_USAGE_CHECK(prompt_len >= 1 && new_tokens >= 2, "rlae bench decode: --prompt-len >= 1 and --new-tokens >= 2");
  at::set_num_threads(threads);
  const Placement place = place_device_here(parse_device_request((*vm)["device"].as<std::string>()), 0, "this process");
  const at::Device device =
      place.cuda ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(place.index)) : at::Device(at::kCPU);
  const std::string dtype = (*vm)["dtype"].as<std::string>();
  RLAE_USAGE_CHECK(dtype == "f32" || dtype == "bf16" || dtype == "f16", "--dtype: expected f32|bf16|f16, got '",
                   dtype, "'");
  RLAE_USAGE_CHECK(dtype != "f16" || place.cuda, "--dtype f16 needs --device cuda");
  const at::ScalarType st = dtype == "bf16" ? at::kBFloat16 : dtype == "f16" ? at::kHalf : at::kFloat;
  std::printf("device %s, dtype %s, %d threads\n", device.str().c_str(), dtype.c_str(), threads);
  make_dirs(work);

  nlohmann::json results = nlohmann::json::array();
  std::printf("%-6s %6s %14s %14s %8s  %s\n", "model", "batch", "rlae tok/s", "HF tok/s", "ratio", "same greedy tokens");
  for (const std::string& size : split_list((*vm)["sizes"].as<std::string>(), "--sizes")) {
    RLAE_USAGE_CHECK(size == "tiny" || size == "0.5b", "--sizes: expected tiny and/or 0.5b, got '", size, "'");
    const std::string dir = work + "/qwen2-" + size;
    if (!file_exists(dir + "/config.json")) {
      std::fprintf(stderr, "rlae bench decode: writing a random %s model to %s\n", size.c_str(), dir.c_str());
      run_command(shell_quote(python) + " " + shell_quote(script) + " make-model --arch qwen2 --size " + size +
                  " --out " + shell_quote(dir));
    }
    for (const int64_t batch : batches) {
      ModelOptions mo;
      mo.device = device;
      mo.dtype = st;
      mo.num_slots = batch;
      mo.max_seq_len = prompt_len + new_tokens + 1;
      auto model = CausalLM::load(dir, mo);
      time_rlae(*model, batch, prompt_len, 2);  // warm-up on the same shapes
      const Timing r = time_rlae(*model, batch, prompt_len, new_tokens);
      model.reset();
      const std::string out = run_command(
          shell_quote(python) + " " + shell_quote(script) + " decode --model " + shell_quote(dir) + " --batch " +
          std::to_string(batch) + " --prompt-len " + std::to_string(prompt_len) + " --new-tokens " +
          std::to_string(new_tokens) + " --threads " + std::to_string(threads) + " --device " + device.str() +
          " --dtype " + dtype + " 2>/dev/null");
      const nlohmann::json hf = nlohmann::json::parse(out.substr(out.rfind('{')));
      const double rlae_tps = batch * new_tokens / r.total_s;
      const double hf_tps = hf["tokens_per_s"].get<double>();
      const auto hf_first = hf["first_tokens"].get<std::vector<int64_t>>();
      const bool same = hf_first == r.first_tokens;
      std::printf("%-6s %6lld %14.1f %14.1f %7.2fx  %s\n", size.c_str(), static_cast<long long>(batch), rlae_tps,
                  hf_tps, rlae_tps / hf_tps, same ? "yes" : "NO");
      std::fflush(stdout);
      results.push_back({{"model", size}, {"batch", batch}, {"threads", threads}, {"device", device.str()},
                         {"dtype", dtype}, {"prompt_len", prompt_len},
                         {"new_tokens", new_tokens}, {"rlae_tokens_per_s", rlae_tps}, {"hf_tokens_per_s", hf_tps},
                         {"ratio", rlae_tps / hf_tps}, {"same_greedy_tokens", same},
                         {"rlae_prefill_s", r.prefill_s}, {"hf_prefill_s", hf["prefill_s"]}});
    }
  }
  const std::string json_path = (*vm)["json"].as<std::string>();
  if (!json_path.empty()) write_file_atomic(json_path, results.dump(2) + "\n");
  return kExitOk;
}

}  // namespace rlae::cli
