// rlae pretrain: train a tiny member from scratch (learner/pretrain/pretrain.h says how).
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/check.h"
#include "common/options.h"
#include "launch/commands.h"
#include "learner/pretrain/pretrain.h"

namespace rlae::cli {

int cmd_pretrain(int argc, const char* const* argv) {
  const PretrainConfig d;  // defaults
  po::options_description desc("pretrain");
  desc.add_options()
      // data
      ("tokenizer", opt<std::string>("FILE"), "tokenizer.json (its vocabulary sets the model's)")
      ("data", opt<std::string>("FILE[,FILE...]"), "training JSONL files (rlae data make)")
      ("data-weights", opt<std::string>("W[,W...]", ""), "sampling weight of each --data file (default: equal)")
      ("families", opt<std::string>("NAME:W,...", ""),
       "task-family weights within each file, e.g. add:1,sub:1,mul:0.2; '*:W' for the rest "
       "(default 0: left out); empty: every problem equally likely")
      ("dev-data", opt<std::string>("FILE", ""), "dev JSONL for evaluation (empty: none)")
      ("bos-token", opt<std::string>("TOKEN", ""),
       "BOS token recorded in config.json (default: the one the tokenizer's template prepends, if any)")
      ("eos-token", opt<std::string>("TOKEN", ""),
       "EOS token ending every example (default: the first special token among </s>, "
       "<|endoftext|>, <eos>, <|end|>, <|im_end|>, ...)")
      ("loss", opt<std::string>("target|all", "target"), "tokens in the loss: the answer and EOS, or all")
      ("word-noise", opt<double>("P", d.word_noise),
       "replace each letter word of a training question (never a number) with probability P by a word "
       "of the mix's questions, drawn anew every time the example is drawn (0: off)")
      ("packing", opt<bool>("BOOL", d.packing)->implicit_value(true), "pack several examples per row (each attends only to itself)")
      // model
      ("hidden-size", opt<long long>("N", d.hidden_size), "hidden size")
      ("layers", opt<long long>("N", d.num_layers), "decoder layers")
      ("heads", opt<long long>("N", d.num_heads), "attention heads (must divide hidden-size)")
      ("kv-heads", opt<long long>("N", 0), "key/value heads (0: heads; must divide heads)")
      ("intermediate-size", opt<long long>("N", 0), "MLP size (0: 8/3 hidden-size rounded up to 32)")
      ("max-seq-len", opt<long long>("N", d.max_seq_len), "tokens per example at most (longer ones are skipped)")
      ("rope-theta", opt<double>("F", d.rope_theta), "RoPE base")
      ("tie-embeddings", opt<bool>("BOOL", d.tie_embeddings)->implicit_value(true), "share the input embedding and the LM head")
      ("init-std", opt<double>("F", d.init_std), "std of the initial weights")
      // optimization
      ("lr", opt<double>("F", d.lr), "peak learning rate")
      ("min-lr", opt<double>("F", d.min_lr), "learning rate at the end of the cosine decay")
      ("warmup-steps", opt<long long>("N", d.warmup_steps), "linear warm-up steps")
      ("weight-decay", opt<double>("F", d.weight_decay), "AdamW decoupled weight decay (matrices, embeddings)")
      ("beta1", opt<double>("F", d.beta1), "AdamW beta1")
      ("beta2", opt<double>("F", d.beta2), "AdamW beta2")
      ("batch-size", opt<long long>("N", d.batch_size), "rows per step")
      ("steps", opt<long long>("N", 0), "optimizer steps (0: as many as fit in --max-minutes)")
      ("max-minutes", opt<double>("F", 0.0), "time budget in minutes (0: none); a hard stop too")
      ("stop-after", opt<long long>("N", 0), "stop this run after step N, keeping the schedule (resume later)")
      ("grad-clip", opt<double>("F", d.grad_clip), "global gradient-norm clip (0: none)")
      ("seed", opt<long long>("S", static_cast<long long>(d.seed)), "seed of the weights and the data stream")
      // evaluation and output
      ("eval-every", opt<long long>("N", d.eval_every), "dev evaluation every N steps (0: only at the end)")
      ("eval-problems", opt<long long>("N", d.eval_problems), "dev problems per family")
      ("checkpoint-every", opt<long long>("N", d.checkpoint_every), "checkpoint every N steps (0: only at the end)")
      ("log-every", opt<long long>("N", d.log_every), "metrics.jsonl record (and plain progress line) every N steps")
      ("out", opt<std::string>("DIR"), "output model directory (Hugging Face layout)")
      ("resume", opt<bool>("BOOL", false)->implicit_value(true), "continue from the newest checkpoint in DIR/checkpoints")
      ("threads", opt<int>("N", 0), "LibTorch threads (0: LibTorch's default)")
      ("progress", opt<bool>("BOOL", true)->implicit_value(true), "progress line on stderr");
  const CommandSpec spec{"pretrain", "train a tiny member LLM from scratch (Hugging Face layout)",
                         "rlae pretrain --config X.ini [--out DIR --steps N ...]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  const po::variables_map& v = *vm;

  PretrainConfig c;
  if (v.count("tokenizer")) c.tokenizer = v["tokenizer"].as<std::string>();
  if (v.count("data")) c.data = split_list(v["data"].as<std::string>(), "--data");
  if (!v["data-weights"].as<std::string>().empty()) {
    for (const auto& w : split_list(v["data-weights"].as<std::string>(), "--data-weights")) {
      char* end = nullptr;
      const double x = std::strtod(w.c_str(), &end);
      RLAE_USAGE_CHECK(end && *end == '\0', "--data-weights: '", w, "' is not a number");
      c.data_weights.push_back(x);
    }
  }
  c.families = parse_family_weights(v["families"].as<std::string>());
  c.dev_data = v["dev-data"].as<std::string>();
  c.bos_token = v["bos-token"].as<std::string>();
  c.eos_token = v["eos-token"].as<std::string>();
  const std::string loss = v["loss"].as<std::string>();
  RLAE_USAGE_CHECK(loss == "target" || loss == "all", "--loss: expected target|all, got '", loss, "'");
  c.loss_all_tokens = loss == "all";
  c.packing = v["packing"].as<bool>();
  c.word_noise = v["word-noise"].as<double>();
  c.hidden_size = v["hidden-size"].as<long long>();
  c.num_layers = v["layers"].as<long long>();
  c.num_heads = v["heads"].as<long long>();
  c.num_kv_heads = v["kv-heads"].as<long long>();
  c.intermediate_size = v["intermediate-size"].as<long long>();
  c.max_seq_len = v["max-seq-len"].as<long long>();
  c.rope_theta = v["rope-theta"].as<double>();
  c.tie_embeddings = v["tie-embeddings"].as<bool>();
  c.init_std = v["init-std"].as<double>();
  c.lr = v["lr"].as<double>();
  c.min_lr = v["min-lr"].as<double>();
  c.warmup_steps = v["warmup-steps"].as<long long>();
  c.weight_decay = v["weight-decay"].as<double>();
  c.beta1 = v["beta1"].as<double>();
  c.beta2 = v["beta2"].as<double>();
  c.batch_size = v["batch-size"].as<long long>();
  c.steps = v["steps"].as<long long>();
  c.max_minutes = v["max-minutes"].as<double>();
  c.stop_after = v["stop-after"].as<long long>();
  c.grad_clip = v["grad-clip"].as<double>();
  c.seed = static_cast<uint64_t>(v["seed"].as<long long>());
  c.eval_every = v["eval-every"].as<long long>();
  c.eval_problems = v["eval-problems"].as<long long>();
  c.checkpoint_every = v["checkpoint-every"].as<long long>();
  c.log_every = v["log-every"].as<long long>();
  if (v.count("out")) c.out = v["out"].as<std::string>();
  c.resume = v["resume"].as<bool>();
  c.threads = v["threads"].as<int>();
  c.progress = v["progress"].as<bool>();
  c.recipe_ini = format_resolved_config(desc, v);

  const PretrainResult r = pretrain(c);
  std::printf("pretrain: %s: step %lld/%lld, %lld parameters, %.0f training tokens/s",
              c.out.c_str(), static_cast<long long>(r.last_step), static_cast<long long>(r.horizon),
              static_cast<long long>(r.num_parameters), r.tokens_per_second);
  if (!r.losses.empty()) std::printf(", last loss %.4f", r.losses.back());
  if (!r.evals.empty())
    std::printf(", dev loss %.4f, dev accuracy %.3f", r.evals.back().loss, r.evals.back().accuracy);
  std::printf("\n");
  return kExitOk;
}

}  // namespace rlae::cli
