// rlae::pretrain: set-up, then the training loop (steps, schedule calibration, logging,
// evaluations, checkpoints). The pieces live beside it: sampler, batch, evaluation,
// checkpoint, progress, setup.
#include "learner/pretrain/pretrain.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/lm_train.h"
#include "common/adam.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/tokenizer.h"
#include "learner/pretrain/batch.h"
#include "learner/pretrain/checkpoint.h"
#include "learner/pretrain/evaluation.h"
#include "learner/pretrain/progress.h"
#include "learner/pretrain/sampler.h"
#include "learner/pretrain/setup.h"
#include "learner/pretrain/word_noise.h"

namespace rlae {
namespace {
using namespace pretraining;

constexpr int64_t kCalibrationSteps = 10;

// The objects a run trains with, made and checked before the first step.
struct Setup {
  Tokenizer tok;
  int32_t eos = 0;
  std::optional<int32_t> bos;
  ModelConfig model;
};

// The training loop over the set-up objects; metrics.jsonl, progress and the result.
class Loop {
 public:
  Loop(const PretrainConfig& c, Clock::time_point t_start, const Tokenizer& tok, int32_t eos, int32_t pad,
       Sampler& sampler, const WordNoise* noise, const DevSet* dev, TrainableLM& lm, Adam& opt, TrainState& st,
       std::ostream& metrics, PretrainResult& res)
      : c_(c), t_start_(t_start), tok_(tok), eos_(eos), pad_(pad), sampler_(sampler), noise_(noise), dev_(dev),
        lm_(lm), opt_(opt), st_(st),
        metrics_(metrics), res_(res), progress_(c.progress), budget_s_(c.max_minutes * 60),
        elapsed0_(st.elapsed_s), last_eval_(st.step), last_ckpt_(st.step) {}

  // Trains until the horizon, --stop-after or the time budget; then the final evaluation and
  // checkpoint.
  void run();

 private:
  // The time budget counts everything since pretrain() began (set-up and evaluations too),
  // plus the time of the runs before a resumed checkpoint.
  double elapsed() const { return elapsed0_ + seconds_since(t_start_); }
  bool evaluating() const { return dev_ != nullptr; }
  void run_eval(int64_t step);
  // One optimizer step; returns the batch's loss.
  double step(double lr, double* grad_norm, int64_t* tokens);
  // Puts the word-noised version of every example of `rows` (kept in `store`) in its place;
  // returns the batch's new length. An example that no longer fits max-seq-len, or a packed
  // row that no longer fits, keeps its original examples.
  int64_t add_word_noise(Rows& rows, int64_t T, std::deque<Example>& store) const;
  void calibrate();
  void report(double lr, double grad_norm);
  void checkpoint();
  void finish(bool stopped_by_time);

  const PretrainConfig& c_;
  const Clock::time_point t_start_;
  const Tokenizer& tok_;
  const int32_t eos_, pad_;
  Sampler& sampler_;
  const WordNoise* noise_;  // nullptr: no word noise
  const DevSet* dev_;
  TrainableLM& lm_;
  Adam& opt_;
  TrainState& st_;
  std::ostream& metrics_;
  PretrainResult& res_;
  Progress progress_;
  const double budget_s_, elapsed0_;
  double train_s_ = 0, calib_s_ = 0;  // training time of this run; of its steps after the first
  int64_t recalibrate_at_ = kCalibrationSteps;
  int64_t run_tokens_ = 0, last_eval_, last_ckpt_;
  double win_loss_ = 0;  // the loss summed over the steps since the last log line
  int64_t win_n_ = 0;
};

void Loop::run_eval(int64_t step) {
  const auto t0 = Clock::now();
  PretrainEval ev = evaluate(lm_, *dev_, tok_, c_, pad_);
  ev.step = step;
  const double s = seconds_since(t0);
  st_.eval_cost_s = s;
  metrics_ << eval_json(ev, s).dump() << "\n" << std::flush;
  progress_.message(format_eval(ev) + " [" + hms(s) + "]");
  res_.evals.push_back(ev);
}

double Loop::step(double lr, double* grad_norm, int64_t* tokens) {
  int64_t T = 0;
  Rows rows = draw_rows(c_, sampler_, st_, &T);
  std::deque<Example> noised;  // stable addresses for the rows
  if (noise_) T = add_word_noise(rows, T, noised);
  const Batch b = make_batch(rows, T, c_.packing, c_.loss_all_tokens, pad_);
  opt_.zero_grad();
  at::Tensor loss = batch_loss(lm_, b, at::Reduction::Mean);
  loss.backward();
  *grad_norm = opt_.clip_grad_norm(c_.grad_clip, GradNorm::norm_of_norms);
  opt_.step(lr);
  const double loss_v = loss.item<double>();
  RLAE_CHECK(std::isfinite(loss_v), "pretrain: the loss is ", loss_v, " at step ", st_.step + 1,
             "; lower --lr or raise --warmup-steps");
  *tokens = b.tokens_real;
  return loss_v;
}

int64_t Loop::add_word_noise(Rows& rows, int64_t T, std::deque<Example>& store) const {
  int64_t longest = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<const Example*> row = rows[r];
    int64_t used = 0;
    for (size_t k = 0; k < row.size(); ++k) {
      Problem p = sampler_.problem(row[k]->file, row[k]->index);
      p.question = noise_->apply(p.question, st_.step, static_cast<int64_t>(r), static_cast<int64_t>(k));
      Example e = make_example(tok_, eos_, p);
      e.file = row[k]->file;
      e.index = row[k]->index;
      if (static_cast<int64_t>(e.ids.size()) <= c_.max_seq_len) {
        store.push_back(std::move(e));
        row[k] = &store.back();
      }
      used += static_cast<int64_t>(row[k]->ids.size());
    }
    if (!c_.packing || used <= T) rows[r] = std::move(row);  // else the row keeps its originals, which fit
    for (const Example* e : rows[r]) longest = std::max<int64_t>(longest, static_cast<int64_t>(e->ids.size()));
  }
  return c_.packing ? T : longest;
}

// Fixes the schedule's length for a time budget: a first estimate after 10 steps, the final one
// after an eighth of that (the tokenization cache warm, an evaluation timed).
void Loop::calibrate() {
  const int64_t run_steps = st_.step - res_.first_step;
  if (c_.steps != 0 || st_.horizon_final ||
      (st_.horizon < 0 ? run_steps != kCalibrationSteps : run_steps != recalibrate_at_))
    return;
  const bool do_eval = evaluating();
  const double per_step = calib_s_ / static_cast<double>(run_steps - 1);
  const double eval_per_step =
      do_eval && c_.eval_every > 0 ? st_.eval_cost_s / static_cast<double>(c_.eval_every) : 0;
  const double left = budget_s_ * 0.95 - elapsed() - (do_eval ? st_.eval_cost_s : 0) - 2.0;
  st_.horizon_final = st_.horizon >= 0;
  st_.horizon = st_.step + std::max<int64_t>(1, static_cast<int64_t>(left / (per_step + eval_per_step)));
  recalibrate_at_ = std::max<int64_t>(3 * kCalibrationSteps, (st_.horizon - res_.first_step) / 8);
  char msg[200];
  std::snprintf(msg, sizeof msg, "max-minutes %g: %.1f ms/step, %.1f s/evaluation -> %lld steps%s", c_.max_minutes,
                per_step * 1000, do_eval ? st_.eval_cost_s : 0.0, static_cast<long long>(st_.horizon),
                st_.horizon_final ? "" : " (first estimate)");
  progress_.message(msg);
}

// The progress line, and every log-every steps a metrics.jsonl record of the steps since.
void Loop::report(double lr, double grad_norm) {
  const double tps = static_cast<double>(run_tokens_) / std::max(train_s_, 1e-9);
  const bool log_line = st_.step % c_.log_every == 0 || st_.step == st_.horizon;
  if (log_line || progress_.tty()) {
    const std::string line = step_line(st_.step, res_.first_step, st_.horizon,
                                       win_loss_ / static_cast<double>(win_n_), lr, tps, elapsed());
    progress_.update(line, log_line && !progress_.tty());
  }
  if (!log_line) return;
  nlohmann::json j = {{"type", "train"}, {"step", st_.step}, {"loss", win_loss_ / static_cast<double>(win_n_)},
                      {"lr", lr}, {"grad_norm", grad_norm}, {"tokens", st_.tokens_seen},
                      {"tok_per_s", tps}, {"elapsed_s", elapsed()}};
  metrics_ << j.dump() << "\n" << std::flush;
  win_loss_ = 0;
  win_n_ = 0;
}

void Loop::checkpoint() {
  st_.elapsed_s = elapsed();
  save_checkpoint(c_.out + "/checkpoints", lm_, opt_, sampler_, st_);
  last_ckpt_ = st_.step;
}

void Loop::run() {
  if (evaluating() && c_.eval_every > 0 && st_.step == 0) run_eval(0);
  bool stopped_by_time = false;
  while (st_.horizon < 0 || st_.step < st_.horizon) {
    if (c_.stop_after > 0 && st_.step >= c_.stop_after) break;
    if (budget_s_ > 0 && elapsed() >= budget_s_) {
      stopped_by_time = true;
      break;
    }
    const auto t0 = Clock::now();
    const double lr = pretrain_lr(c_, st_.step, st_.horizon);
    double grad_norm = 0;
    int64_t tokens = 0;
    const double loss = step(lr, &grad_norm, &tokens);
    ++st_.step;
    const double dt = seconds_since(t0);
    train_s_ += dt;
    if (st_.step - res_.first_step > 1) calib_s_ += dt;
    run_tokens_ += tokens;
    st_.tokens_seen += tokens;
    res_.losses.push_back(loss);
    win_loss_ += loss;
    ++win_n_;
    calibrate();
    report(lr, grad_norm);
    if (evaluating() && c_.eval_every > 0 && st_.step % c_.eval_every == 0 && st_.step != st_.horizon) {
      run_eval(st_.step);
      last_eval_ = st_.step;
    }
    if (c_.checkpoint_every > 0 && st_.step % c_.checkpoint_every == 0) checkpoint();
  }
  finish(stopped_by_time);
}

void Loop::finish(bool stopped_by_time) {
  if (progress_.tty()) progress_.message("");
  if (stopped_by_time)
    RLAE_LOG(warn, "pretrain: --max-minutes ", c_.max_minutes, " reached at step ", st_.step,
             (st_.horizon > 0 ? " of " + std::to_string(st_.horizon) : std::string()),
             "; the learning-rate schedule did not finish");
  if (evaluating() && last_eval_ != st_.step) run_eval(st_.step);
  if (last_ckpt_ != st_.step) checkpoint();
  lm_.save(c_.out);
  res_.last_step = st_.step;
  res_.horizon = st_.horizon;
  res_.tokens_per_second = static_cast<double>(run_tokens_) / std::max(train_s_, 1e-9);
  res_.skipped_examples = sampler_.skipped();
  RLAE_LOG(info, "pretrain: step ", st_.step, ", ", static_cast<int64_t>(res_.tokens_per_second),
           " training tokens/s, ", sampler_.skipped(), " drawn examples longer than --max-seq-len skipped; wrote ",
           c_.out, " in ", hms(seconds_since(t_start_)));
}

Setup make_setup(const PretrainConfig& c) {
  Setup s{Tokenizer::from_file(c.tokenizer), 0, std::nullopt, {}};
  s.eos = resolve_eos(c, s.tok);
  s.bos = resolve_bos(c, s.tok);
  s.model = model_config(c, s.tok, s.eos, s.bos);
  return s;
}

// The files of `out` that do not depend on training; metrics.jsonl truncated to the resumed step.
void write_static_outputs(const PretrainConfig& c, const Setup& s, int64_t resumed_step) {
  const std::string metrics_path = c.out + "/metrics.jsonl";
  if (resumed_step > 0) truncate_metrics(metrics_path, resumed_step);
  else write_file_atomic(metrics_path, "");
  if (!c.recipe_ini.empty()) write_file_atomic(c.out + "/pretrain.ini", c.recipe_ini);
  write_file_atomic(c.out + "/tokenizer.json", read_file(c.tokenizer));
  write_file_atomic(c.out + "/tokenizer_config.json", tokenizer_config_json(s.tok, s.eos, s.bos, c.max_seq_len));
}

void log_model(const PretrainConfig& c, const ModelConfig& mc, const Sampler& sampler, int64_t num_parameters) {
  std::ostringstream mix;
  for (const auto& g : sampler.groups())
    mix << " " << g.family << (c.data.size() > 1 ? "@" + std::to_string(g.file) : "") << ":"
        << std::round(g.p * 1000) / 1000;
  RLAE_LOG(info, "pretrain: ", num_parameters, " parameters (hidden ", mc.hidden_size, ", layers ", mc.num_layers,
           ", heads ", mc.num_heads, "/", mc.num_kv_heads, ", intermediate ", mc.intermediate_size, ", vocab ",
           mc.vocab_size, "), ", at::get_num_threads(), " threads; mix", mix.str());
}

}  // namespace

PretrainResult pretrain(const PretrainConfig& c) {
  const auto t_start = Clock::now();
  check_config(c);
  if (c.threads > 0) at::set_num_threads(c.threads);
  const Setup s = make_setup(c);
  Sampler sampler(c, s.tok, s.eos);
  const bool do_eval = !c.dev_data.empty();
  if (!do_eval) RLAE_LOG(info, "pretrain: no --dev-data, no evaluation");
  DevSet dev;
  if (do_eval) dev = make_dev_set(c, s.tok, s.eos);
  prepare_out(c.out);
  const std::string ckpt_root = c.out + "/checkpoints";
  const std::string latest = latest_checkpoint(ckpt_root);
  RLAE_CHECK(c.resume || latest.empty(), c.out, " already holds a checkpoint (", latest,
             "); pass --resume to continue it or choose another --out");

  // The weights and the sampler draw from the run's seed as it is (no derived streams): the
  // published members were trained so.
  TrainableLM lm(s.model, c.seed, c.init_std);
  Adam opt = make_adamw(lm, c);
  TrainState st;
  if (c.resume && !latest.empty()) {
    st = load_checkpoint(latest, lm, opt, sampler);
    RLAE_LOG(info, "resuming from ", latest, " (step ", st.step, ")");
  } else if (c.resume) {
    RLAE_LOG(info, "--resume: no checkpoint in ", ckpt_root, "; starting from scratch");
  }
  if (c.steps > 0) st.horizon = c.steps;

  write_static_outputs(c, s, st.step);
  const std::string metrics_path = c.out + "/metrics.jsonl";
  std::ofstream metrics(metrics_path, std::ios::app);
  RLAE_CHECK(metrics.good(), metrics_path, ": cannot open for appending");

  PretrainResult res;
  res.first_step = st.step;
  res.num_parameters = lm.num_parameters();
  log_model(c, s.model, sampler, res.num_parameters);
  const int32_t pad = s.eos;
  std::optional<WordNoise> noise;
  if (c.word_noise > 0) {
    noise.emplace(c.word_noise, c.seed, sampler.mix_problems());
    RLAE_LOG(info, "pretrain: word noise ", c.word_noise, " over ", noise->vocabulary(), " words of the mix's questions");
  }
  Loop(c, t_start, s.tok, s.eos, pad, sampler, noise ? &*noise : nullptr, do_eval ? &dev : nullptr, lm, opt, st,
       metrics, res)
      .run();
  return res;
}

}  // namespace rlae
