#include "actors/generate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <deque>

#include "common/check.h"
#include "common/rng.h"
#include "kernels/mixture.h"

namespace rlae {
namespace {

struct Active {
  size_t prompt = 0;
  int32_t next = -1;  // chosen, not yet fed to the model
};

}  // namespace

std::vector<Generation> generate(CausalLM& model, const Tokenizer& tokenizer,
                                 const std::vector<std::string>& prompts, const GenerateOptions& options,
                                 GenerateStats* stats, const GenerateProgress& progress) {
  RLAE_CHECK(options.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1, got ", options.max_new_tokens);
  RLAE_CHECK(options.temperature >= 0, "generate: temperature must be >= 0, got ", options.temperature);
  c10::InferenceMode guard;
  const auto t0 = std::chrono::steady_clock::now();
  const ModelConfig& cfg = model.config();
  std::vector<Generation> out(prompts.size());
  std::vector<std::vector<int32_t>> prompt_ids(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    prompt_ids[i] = tokenizer.encode(prompts[i], options.add_special_tokens);
    RLAE_CHECK(!prompt_ids[i].empty(), "generate: prompt ", i, " encodes to no tokens");
    out[i].prompt_tokens = static_cast<int64_t>(prompt_ids[i].size());
    // Checked for every prompt before any decoding; a smaller --max-new-tokens is the fix when there is room.
    const int64_t room = model.max_seq_len() - out[i].prompt_tokens;
    RLAE_USAGE_CHECK(options.max_new_tokens <= room || room < 1, "--max-new-tokens ", options.max_new_tokens,
                     " does not fit the model's ", model.max_seq_len(), " positions: prompt ", i, " has ",
                     out[i].prompt_tokens, " tokens; use --max-new-tokens ", room, " or less");
    RLAE_CHECK(room >= 1, "generate: prompt ", i, " has ", out[i].prompt_tokens,
               " tokens, which leaves no room to answer in the model's ", model.max_seq_len(), " positions");
  }
  std::vector<at::Generator> gens;
  if (options.temperature > 0) {
    for (size_t i = 0; i < prompts.size(); ++i) {
      gens.push_back(at::make_generator<at::CPUGeneratorImpl>(derive_seed(options.seed, "generate.sample", {i})));
    }
  }
  auto is_eos = [&](int32_t id) {
    return std::find(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end(), id) != cfg.eos_token_ids.end();
  };
  // Chooses each row's next token from logits [rows, V].
  auto choose = [&](const at::Tensor& logits, const std::vector<size_t>& which) {
    std::vector<int32_t> ids(which.size());
    if (options.temperature == 0) {
      const at::Tensor tok = kernels::argmax_smallest_id(logits).to(at::kCPU).to(at::kInt).contiguous();
      std::copy(tok.data_ptr<int32_t>(), tok.data_ptr<int32_t>() + which.size(), ids.begin());
    } else {
      const at::Tensor probs = at::softmax(logits.to(at::kDouble) / options.temperature, 1);
      for (size_t r = 0; r < which.size(); ++r) {
        ids[r] = static_cast<int32_t>(at::multinomial(probs[r], 1, false, gens[which[r]]).item<int64_t>());
      }
    }
    return ids;
  };

  std::deque<size_t> pending;
  for (size_t i = 0; i < prompts.size(); ++i) pending.push_back(i);
  std::vector<int64_t> free_slots;
  for (int64_t s = model.num_slots() - 1; s >= 0; --s) free_slots.push_back(s);
  std::vector<std::pair<int64_t, Active>> active;  // (slot, state)
  size_t finished = 0;
  int64_t chosen_total = 0;

  // Records a chosen token; returns false when the sequence is finished.
  auto accept = [&](Active& a, int32_t id) {
    ++chosen_total;
    Generation& g = out[a.prompt];
    if (is_eos(id)) {
      g.stopped_at_eos = true;
      return false;
    }
    g.ids.push_back(id);
    a.next = id;
    return static_cast<int>(g.ids.size()) < options.max_new_tokens;
  };
  auto finish = [&](int64_t slot, const Active& a) {
    out[a.prompt].text = tokenizer.decode(out[a.prompt].ids, /*skip_special_tokens=*/true);
    model.reset(slot);
    free_slots.push_back(slot);
    ++finished;
  };

  while (!pending.empty() || !active.empty()) {
    // New prompts into free slots (one batched prefill).
    std::vector<int64_t> slots;
    std::vector<std::vector<int32_t>> rows;
    std::vector<size_t> which;
    while (!pending.empty() && !free_slots.empty()) {
      slots.push_back(free_slots.back());
      free_slots.pop_back();
      which.push_back(pending.front());
      rows.push_back(prompt_ids[pending.front()]);
      pending.pop_front();
    }
    std::vector<std::pair<int64_t, Active>> next_active;
    if (!slots.empty()) {
      const std::vector<int32_t> ids = choose(model.prefill(slots, rows).logits, which);
      for (size_t r = 0; r < slots.size(); ++r) {
        Active a{which[r], -1};
        if (accept(a, ids[r])) next_active.emplace_back(slots[r], a);
        else finish(slots[r], a);
      }
    }
    // One step for the sequences already running.
    if (!active.empty()) {
      std::vector<int64_t> s;
      std::vector<int32_t> feed;
      std::vector<size_t> w;
      for (const auto& [slot, a] : active) {
        s.push_back(slot);
        feed.push_back(a.next);
        w.push_back(a.prompt);
      }
      const std::vector<int32_t> ids = choose(model.step(s, feed).logits, w);
      for (size_t r = 0; r < active.size(); ++r) {
        Active a = active[r].second;
        if (accept(a, ids[r])) next_active.emplace_back(active[r].first, a);
        else finish(active[r].first, a);
      }
    }
    active = std::move(next_active);
    if (progress) progress(finished, prompts.size());
  }
  if (stats != nullptr) {
    stats->generated_tokens = chosen_total;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

}  // namespace rlae
