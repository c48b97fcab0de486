#!/usr/bin/env python3
"""Fixtures for the model parity test (tests/parity/test_model_parity.cpp).

    make_model_fixtures.py OUT_DIR

Builds tiny random-weight causal LMs of each supported architecture with Hugging Face
transformers (4.46), saves them in the Hugging Face layout, reloads them from disk in
float32 with eager attention, and records what transformers computes for a batch of
mixed-length prompts (left-padded, with attention mask and position ids) followed by
16 greedy decoding steps:

    OUT_DIR/<case>/model/              config.json, generation_config.json, *.safetensors
    OUT_DIR/<case>/reference.safetensors
        prompt_ids     int64 [sum of prompt lengths]   the prompts, concatenated
        prompt_lengths int64 [B]
        tokens         int64 [STEPS, B]                greedy token fed at each step
        logits         float32 [STEPS + 1, B, V]       last-position logits: prefill, then each step
        hidden         float32 [STEPS + 1, B, H]       last-position final-norm hidden states
        full_ids       int64 [T]                       prompt 0 followed by its generated tokens
        full_logits    float32 [T, V]                  logits at every position of full_ids, no cache
    OUT_DIR/manifest.json   {"cases": [{"name", "architecture", "notes"}], "steps", "transformers_version"}

The weights are re-drawn at unit scale (not transformers' 0.02 init) so that logits are
O(1) and a 1e-4 comparison means something. Deterministic (fixed seeds); CPU only.
"""
import json
import math
import os
import shutil
import sys
import warnings

import torch
import transformers
from safetensors.torch import save_file
from transformers import (AutoModelForCausalLM, DynamicCache, LlamaConfig, LlamaForCausalLM,
                          MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

STEPS = 16
PROMPT_LENGTHS = [5, 1, 9, 3]
COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              max_position_embeddings=256, bos_token_id=1, eos_token_id=2)


def cases():
    """(name, model class, config, save dtype, max_shard_size, notes)"""
    return [
        ("llama_llama3_gqa", LlamaForCausalLM,
         LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                     rope_theta=10000.0, tie_word_embeddings=False,
                     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 64}),
         torch.float32, None, "llama3 rope scaling (all three frequency bands), GQA 4/2, untied"),
        ("llama_tied_bias_sharded", LlamaForCausalLM,
         LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                     rms_norm_eps=1e-6, attention_bias=True, mlp_bias=True,
                     tie_word_embeddings=True,
                     rope_scaling={"rope_type": "linear", "factor": 2.0}),
         torch.float32, "20KB",
         "tied, attention and MLP biases, head_dim 16 != hidden/heads, MQA, linear rope, sharded"),
        ("qwen2_tied", Qwen2ForCausalLM,
         Qwen2Config(**COMMON, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
                     rope_theta=1000000.0, tie_word_embeddings=True),
         torch.float32, None, "q/k/v biases, tied, rope_theta 1e6"),
        ("qwen2_window", Qwen2ForCausalLM,
         Qwen2Config(**COMMON, num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-6,
                     tie_word_embeddings=False, use_sliding_window=True, sliding_window=6,
                     max_window_layers=1),
         torch.float32, None,
         "use_sliding_window with window 6 on layer 1 only (layer_types), MHA, untied"),
        ("mistral_bf16", MistralForCausalLM,
         MistralConfig(**COMMON, num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-5,
                       sliding_window=4096, tie_word_embeddings=False),
         torch.bfloat16, None, "bf16 weights computed in f32, MQA"),
        ("mistral_window", MistralForCausalLM,
         MistralConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                       sliding_window=5, tie_word_embeddings=False),
         torch.float32, None, "sliding window 5 (shorter than the sequences)"),
    ]


def redraw(model, seed):
    """Unit-scale random weights: O(1) logits, every parameter different from its default."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 2 and "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def make_prompts(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, vocab, (n,), generator=g).tolist() for n in PROMPT_LENGTHS]


def run_reference(model, prompts, forced=None):
    """Left-padded batch prefill + STEPS greedy steps, as transformers' generate() does it.
    With `forced` ([STEPS, B]), those tokens are fed instead of the greedy ones."""
    B, T = len(prompts), max(len(p) for p in prompts)
    ids = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, T - len(p):] = torch.tensor(p)
        mask[b, T - len(p):] = 1
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    cache = DynamicCache()
    logits, hidden, tokens = [], [], []
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache,
                    use_cache=True, output_hidden_states=True)
        for step in range(STEPS + 1):
            logits.append(out.logits[:, -1].float())
            hidden.append(out.hidden_states[-1][:, -1].float())
            if step == STEPS:
                break
            nxt = out.logits[:, -1].argmax(-1)
            tokens.append(nxt)
            if forced is not None:
                nxt = forced[step].to(torch.long)
            mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], -1)
            pos = pos[:, -1:] + 1
            out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos,
                        past_key_values=out.past_key_values, use_cache=True,
                        output_hidden_states=True)
    return torch.stack(logits), torch.stack(hidden), torch.stack(tokens)


def build_case(out_dir, index, name, cls, config, save_dtype, shard, notes):
    case_dir = os.path.join(out_dir, name)
    model_dir = os.path.join(case_dir, "model")
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(model_dir)

    torch.manual_seed(1000 + index)
    model = cls(config)
    redraw(model, 2000 + index)
    model = model.to(save_dtype)
    kwargs = {"safe_serialization": True}
    if shard:
        kwargs["max_shard_size"] = shard
    model.save_pretrained(model_dir, **kwargs)
    if shard:
        assert os.path.exists(os.path.join(model_dir, "model.safetensors.index.json")), name

    # The reference comes from the files on disk, exactly what rlae reads.
    ref = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                               attn_implementation="eager")
    ref.eval()
    prompts = make_prompts(config.vocab_size, 3000 + index)
    logits, hidden, tokens = run_reference(ref, prompts)

    full_ids = torch.tensor(prompts[0] + tokens[:, 0].tolist())
    with torch.no_grad():
        full_logits = ref(input_ids=full_ids[None]).logits[0].float()

    save_file({
        "prompt_ids": torch.tensor([t for p in prompts for t in p], dtype=torch.long),
        "prompt_lengths": torch.tensor([len(p) for p in prompts], dtype=torch.long),
        "tokens": tokens.to(torch.long).contiguous(),
        "logits": logits.contiguous(),
        "hidden": hidden.contiguous(),
        "full_ids": full_ids.to(torch.long),
        "full_logits": full_logits.contiguous(),
    }, os.path.join(case_dir, "reference.safetensors"))
    return {"name": name, "architecture": cls.__name__, "notes": notes,
            "logit_scale": float(logits.abs().max())}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    manifest = {"cases": [], "steps": STEPS, "transformers_version": transformers.__version__}
    for i, case in enumerate(cases()):
        manifest["cases"].append(build_case(out_dir, i, *case))
        print(f"{case[0]}: written", flush=True)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
