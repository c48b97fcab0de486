#include "learner/pretrain/evaluation.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/generate.h"
#include "actors/lm_train.h"
#include "common/answer.h"
#include "common/check.h"
#include "common/prompt.h"
#include "common/tokenizer.h"
#include "learner/pretrain/batch.h"
#include "learner/pretrain/pretrain.h"

namespace rlae::pretraining {
namespace {

// Greedy answers to every selected problem (families in order) in one continuous batch. The
// generation budget is the longest gold target (with EOS) plus 16 tokens, within max-seq-len.
std::vector<Generation> generate_answers(const TrainableLM& lm, const DevSet& dev, const Tokenizer& tok,
                                         const PretrainConfig& c) {
  int64_t min_prompt = std::numeric_limits<int64_t>::max(), max_prompt = 0, max_target = 0;
  std::vector<std::string> prompts;
  for (size_t f = 0; f < dev.families.size(); ++f)
    for (size_t i = 0; i < dev.examples[f].size(); ++i) {
      const Example& e = dev.examples[f][i];
      min_prompt = std::min<int64_t>(min_prompt, e.prompt_len);
      max_prompt = std::max<int64_t>(max_prompt, e.prompt_len);
      max_target = std::max<int64_t>(max_target, static_cast<int64_t>(e.ids.size()) - e.prompt_len);
      prompts.push_back(format_prompt(dev.problems[f][i].question));
    }
  GenerateOptions go;
  go.max_new_tokens = static_cast<int>(std::max<int64_t>(1, std::min(c.max_seq_len - min_prompt, max_target + 16)));
  go.temperature = 0;
  go.add_special_tokens = true;
  ModelOptions mo;
  mo.num_slots = std::min<int64_t>(64, static_cast<int64_t>(prompts.size()));
  mo.max_seq_len = max_prompt + go.max_new_tokens;
  return generate(*lm.to_causal_lm(mo), tok, prompts, go);
}

// The summed target-token cross-entropy of `exs` (batches of batch-size rows); *tokens
// receives the number of target tokens.
double summed_loss(const TrainableLM& lm, const std::vector<Example>& exs, const PretrainConfig& c, int32_t pad,
                   int64_t* tokens) {
  at::NoGradGuard no_grad;
  double loss = 0;
  *tokens = 0;
  for (size_t i = 0; i < exs.size(); i += static_cast<size_t>(c.batch_size)) {
    Rows rows;
    int64_t T = 0;
    for (size_t j = i; j < std::min(exs.size(), i + static_cast<size_t>(c.batch_size)); ++j) {
      rows.push_back({&exs[j]});
      T = std::max<int64_t>(T, static_cast<int64_t>(exs[j].ids.size()));
    }
    int64_t n = 0;
    const Batch b = make_batch(rows, T, false, /*loss_all=*/false, pad);
    loss += batch_loss(lm, b, at::Reduction::Sum, &n).item<double>();
    *tokens += n;
  }
  return loss;
}

}  // namespace

DevSet make_dev_set(const PretrainConfig& c, const Tokenizer& tok, int32_t eos) {
  DevSet d;
  std::map<std::string, std::vector<Problem>> by;
  for (auto& p : load_dataset(c.dev_data)) by[p.task].push_back(std::move(p));
  for (auto& [fam, ps] : by) {
    std::vector<Problem> keep;
    std::vector<Example> ex;
    for (auto& p : ps) {
      if (static_cast<int64_t>(keep.size()) >= c.eval_problems) break;
      Example e = make_example(tok, eos, p);
      if (static_cast<int64_t>(e.ids.size()) > c.max_seq_len) {
        ++d.dropped;
        continue;
      }
      keep.push_back(std::move(p));
      ex.push_back(std::move(e));
    }
    if (keep.empty()) continue;
    d.families.push_back(fam);
    d.problems.push_back(std::move(keep));
    d.examples.push_back(std::move(ex));
  }
  RLAE_CHECK(!d.families.empty(), c.dev_data, ": no dev problem fits in --max-seq-len ", c.max_seq_len);
  return d;
}

PretrainEval evaluate(const TrainableLM& lm, const DevSet& dev, const Tokenizer& tok, const PretrainConfig& c,
                      int32_t pad) {
  PretrainEval ev;
  double loss_sum = 0, correct_all = 0;
  int64_t tokens_all = 0, n_all = 0;
  const std::vector<Generation> gens = generate_answers(lm, dev, tok, c);
  size_t g = 0;
  for (size_t f = 0; f < dev.families.size(); ++f) {
    const auto& ps = dev.problems[f];
    int64_t fam_tokens = 0;
    const double fam_loss = summed_loss(lm, dev.examples[f], c, pad, &fam_tokens);
    int64_t correct = 0;
    for (size_t i = 0; i < ps.size(); ++i)
      correct += answer_correct(gens[g++].text, ps[i].answer, AnswerMode::numeric) ? 1 : 0;
    PretrainEval::Family fr;
    fr.name = dev.families[f];
    fr.problems = static_cast<int64_t>(ps.size());
    fr.loss = fam_tokens ? fam_loss / static_cast<double>(fam_tokens) : 0;
    fr.accuracy = static_cast<double>(correct) / static_cast<double>(ps.size());
    ev.families.push_back(fr);
    loss_sum += fam_loss;
    tokens_all += fam_tokens;
    correct_all += static_cast<double>(correct);
    n_all += fr.problems;
  }
  ev.loss = tokens_all ? loss_sum / static_cast<double>(tokens_all) : 0;
  ev.accuracy = n_all ? correct_all / static_cast<double>(n_all) : 0;
  return ev;
}

std::string format_eval(const PretrainEval& ev) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(3);
  os << "eval step " << ev.step << ": dev loss " << ev.loss << ", accuracy " << ev.accuracy << " (";
  for (size_t i = 0; i < ev.families.size(); ++i)
    os << (i ? " " : "") << ev.families[i].name << " " << ev.families[i].accuracy;
  os << ")";
  return os.str();
}

nlohmann::json eval_json(const PretrainEval& ev, double seconds) {
  nlohmann::json j;
  j["type"] = "eval";
  j["step"] = ev.step;
  j["loss"] = ev.loss;
  j["accuracy"] = ev.accuracy;
  j["eval_s"] = seconds;
  for (const auto& f : ev.families)
    j["families"][f.name] = {{"problems", f.problems}, {"loss", f.loss}, {"accuracy", f.accuracy}};
  return j;
}

}  // namespace rlae::pretraining
