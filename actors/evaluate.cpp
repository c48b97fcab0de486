#include "actors/evaluate.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/prompt.h"

namespace rlae {

std::vector<Problem> select_problems(const std::vector<Problem>& all, const std::vector<std::string>& families,
                                     int64_t per_family) {
  std::map<std::string, int64_t> taken;
  std::vector<Problem> out;
  for (const Problem& p : all) {
    if (!families.empty() && std::find(families.begin(), families.end(), p.task) == families.end()) continue;
    if (per_family > 0 && taken[p.task] >= per_family) continue;
    ++taken[p.task];
    out.push_back(p);
  }
  return out;
}

EvalReport evaluate(const std::vector<Problem>& problems, AnswerSource& source, const EvalOptions& opt) {
  RLAE_CHECK(!problems.empty(), "eval: no problems to evaluate");
  RLAE_CHECK(opt.chunk >= 1, "eval: chunk must be >= 1");
  EvalReport rep;
  rep.source = source.name();
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(problems.size());
  for (int64_t start = 0; start < n; start += opt.chunk) {
    const int64_t end = std::min(n, start + opt.chunk);
    std::vector<std::string> prompts, tasks;
    for (int64_t i = start; i < end; ++i) {
      prompts.push_back(format_prompt(problems[static_cast<size_t>(i)].question));
      tasks.push_back(problems[static_cast<size_t>(i)].task);
    }
    const std::vector<std::string> outs = source.answer(prompts, tasks, &rep.tokens);
    const std::vector<std::vector<std::vector<float>>> weights = source.last_weights();
    RLAE_ASSERT(outs.size() == prompts.size(), source.name(), " answered ", outs.size(), " of ", prompts.size(),
                " prompts");
    for (int64_t i = start; i < end; ++i) {
      const Problem& p = problems[static_cast<size_t>(i)];
      const std::string& out = outs[static_cast<size_t>(i - start)];
      const bool ok = answer_correct(out, p.answer, opt.mode);
      FamilyScore& f = rep.families[p.task];
      ++f.problems;
      ++rep.overall.problems;
      f.correct += ok;
      rep.overall.correct += ok;
      rep.records.push_back({p.id, p.task, out, final_answer_text(p.answer), ok,
                             weights.empty() ? std::vector<std::vector<float>>{} : weights[static_cast<size_t>(i - start)]});
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (opt.progress) opt.progress(end, n, rep.overall, rep.tokens_per_s());
  }
  return rep;
}

std::string EvalReport::to_json(bool with_records) const {
  nlohmann::json j;
  j["source"] = source;
  for (const auto& [task, f] : families) {
    j["families"][task] = {{"problems", f.problems}, {"correct", f.correct}, {"accuracy", f.accuracy()}};
  }
  j["overall"] = {{"problems", overall.problems}, {"correct", overall.correct}, {"accuracy", overall.accuracy()}};
  j["generated_tokens"] = tokens;
  j["seconds"] = seconds;
  j["tokens_per_s"] = tokens_per_s();
  j["ms_per_token"] = ms_per_token();
  if (with_records) {
    j["records"] = nlohmann::json::array();
    for (const auto& r : records) {
      nlohmann::json rec = {{"id", r.id}, {"task", r.task}, {"output", r.output}, {"gold", r.gold}, {"correct", r.correct}};
      if (!r.weights.empty()) rec["weights"] = r.weights;
      j["records"].push_back(std::move(rec));
    }
  }
  return j.dump(2);
}

}  // namespace rlae
