#include "learner/pretrain/checkpoint.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/lm_train.h"
#include "common/adam.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/safetensors.h"
#include "learner/pretrain/sampler.h"

namespace rlae::pretraining {
namespace fs = std::filesystem;
namespace {

std::string step_dir_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

nlohmann::json state_json(const TrainableLM& lm, const Adam& opt, const Sampler& sampler, const TrainState& st) {
  nlohmann::json j;
  j["step"] = st.step;
  j["horizon"] = st.horizon;
  j["horizon_final"] = st.horizon_final;
  j["adam_step"] = opt.step_count();
  j["elapsed_s"] = st.elapsed_s;
  j["eval_cost_s"] = st.eval_cost_s;
  j["tokens_seen"] = st.tokens_seen;
  j["skipped_examples"] = sampler.skipped();
  j["pending"] = {st.pending_file, st.pending_index};
  j["sampler_rng"] = sampler.rng_state();
  j["model_config"] = nlohmann::json::parse(lm.config().to_json());
  return j;
}

}  // namespace

std::string latest_checkpoint(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "";
  std::string best;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !fs::exists(e.path() / "state.json")) continue;
    if (name > best) best = name;
  }
  return best.empty() ? "" : root + "/" + best;
}

void save_checkpoint(const std::string& root, const TrainableLM& lm, const Adam& opt, const Sampler& sampler,
                     const TrainState& st) {
  fs::create_directories(root);
  const std::string final_dir = root + "/" + step_dir_name(st.step);
  const std::string tmp = root + "/.tmp-" + step_dir_name(st.step);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::vector<std::pair<std::string, at::Tensor>> w;
  for (const auto& [n, p] : lm.named_parameters()) w.emplace_back(n, p.detach());
  save_safetensors(tmp + "/weights.safetensors", w);
  save_safetensors(tmp + "/optimizer.safetensors", opt.moments(""));
  write_file_atomic(tmp + "/state.json", state_json(lm, opt, sampler, st).dump(1) + "\n");
  fs::remove_all(final_dir);
  rename_file(tmp, final_dir);
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && name != step_dir_name(st.step)) fs::remove_all(e.path());
  }
}

TrainState load_checkpoint(const std::string& dir, TrainableLM& lm, Adam& opt, Sampler& sampler) {
  const nlohmann::json j = nlohmann::json::parse(read_file(dir + "/state.json"));
  RLAE_CHECK(j.at("model_config") == nlohmann::json::parse(lm.config().to_json()), dir,
             ": the checkpoint's model differs from the configured one (hidden-size, layers, "
             "heads, vocabulary, ...); resume with the recipe that wrote it");
  const auto w = load_safetensors(dir + "/weights.safetensors");
  lm.load_weights({w.begin(), w.end()});
  const auto o = load_safetensors(dir + "/optimizer.safetensors");
  opt.load_moments(
      [&](const std::string& name) -> const at::Tensor* {
        auto it = o.find(name);
        return it == o.end() ? nullptr : &it->second;
      },
      "", dir + "/optimizer.safetensors");
  opt.set_step_count(j.at("adam_step").get<int64_t>());
  TrainState st;
  st.step = j.at("step").get<int64_t>();
  st.horizon = j.at("horizon").get<int64_t>();
  st.horizon_final = j.at("horizon_final").get<bool>();
  st.elapsed_s = j.at("elapsed_s").get<double>();
  st.eval_cost_s = j.at("eval_cost_s").get<double>();
  st.tokens_seen = j.at("tokens_seen").get<int64_t>();
  st.pending_file = j.at("pending").at(0).get<int64_t>();
  st.pending_index = j.at("pending").at(1).get<int64_t>();
  sampler.set_skipped(j.at("skipped_examples").get<int64_t>());
  sampler.set_rng_state(j.at("sampler_rng").get<std::string>());
  return st;
}

void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() > step) continue;
    } catch (const std::exception&) {
      continue;  // a torn last line
    }
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace rlae::pretraining
