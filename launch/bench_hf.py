#!/usr/bin/env python3
"""Hugging Face side of `rlae bench decode`: the same model, the same prompts, the
same greedy decoding with a KV cache, timed in the same way.

  bench_hf.py make-model --arch qwen2 --size tiny|0.5b --out DIR [--seed S]
      writes a random-weight model in the Hugging Face layout (config.json,
      model.safetensors; a byte-level tokenizer.json when `tokenizers` is present)
  bench_hf.py decode --model DIR --batch B --prompt-len P --new-tokens N --threads T
      prints one JSON line: {"batch", "new_tokens", "prefill_s", "decode_s", "tokens_per_s"}
  bench_hf.py tokenizer --tokenizer FILE --corpus FILE [--loads 3] [--repeat 3]
      prints one JSON line: {"load_s", "encode_s", "tokens", "tokens_per_s", "checksum"}
      (best load of --loads; encode of every corpus line, one thread, best of --repeat)
Prompts are token ids drawn from a seeded generator (identical to rlae's: see
launch/cmd_bench.cpp), so both sides decode the same work.
"""
import argparse
import json
import sys
import time


SIZES = {
    # A Qwen2.5-0.5B-shaped configuration (random weights) and a tiny one.
    "0.5b": dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                 tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6),
    "small": dict(vocab_size=32000, hidden_size=512, intermediate_size=1408, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=4096,
                  tie_word_embeddings=True, rope_theta=10000.0, rms_norm_eps=1e-6),
    "tiny": dict(vocab_size=512, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                 tie_word_embeddings=True, rope_theta=10000.0, rms_norm_eps=1e-6),
}


def prompt_ids(batch, length, vocab, seed=1234):
    """splitmix64 stream, as rlae's bench draws them."""
    mask = (1 << 64) - 1
    state = seed & mask
    out = []
    for _ in range(batch):
        row = []
        for _ in range(length):
            state = (state + 0x9E3779B97F4A7C15) & mask
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            z ^= z >> 31
            row.append(3 + z % (vocab - 3))
        out.append(row)
    return out


def make_model(args):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(args.seed)
    cfg = dict(SIZES[args.size], bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if args.eos >= 0:
        cfg["eos_token_id"] = args.eos
    if args.vocab:
        cfg["vocab_size"] = args.vocab
    if args.arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**cfg))
    else:
        model = LlamaForCausalLM(LlamaConfig(**cfg))
    model.eval()
    model.save_pretrained(args.out, safe_serialization=True)
    if args.tokenizer:
        import shutil
        shutil.copy(args.tokenizer, args.out + "/tokenizer.json")
    print(json.dumps({"out": args.out, "params": sum(p.numel() for p in model.parameters())}))


def decode(args):
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache
    torch.set_num_threads(args.threads)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[args.dtype]
    device = torch.device(args.device)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="eager")
    model.to(device)
    model.eval()
    vocab = model.config.vocab_size
    ids = torch.tensor(prompt_ids(args.batch, args.prompt_len, vocab), dtype=torch.long, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def greedy(n):
        # The best case of Hugging Face eager decoding: forward with the KV cache
        # and argmax, no logits processors (generate() itself cannot import
        # torch.distributed.fsdp on Debian's torch 1.13 with Python 3.11).
        mask = torch.ones_like(ids)
        sync()
        t0 = time.perf_counter()
        out = model(ids, attention_mask=mask, past_key_values=DynamicCache(), use_cache=True)
        sync()
        prefill_s = time.perf_counter() - t0
        past = out.past_key_values
        tok = out.logits[:, -1, :].argmax(-1, keepdim=True)
        toks = [tok]
        for _ in range(n - 1):
            mask = torch.cat([mask, torch.ones_like(tok)], dim=1)
            out = model(tok, attention_mask=mask, past_key_values=past, use_cache=True)
            past = out.past_key_values
            tok = out.logits[:, -1, :].argmax(-1, keepdim=True)
            toks.append(tok)
        sync()
        return torch.cat(toks, dim=1), prefill_s

    with torch.inference_mode():
        greedy(2)  # warm-up on the same shapes
        t0 = time.perf_counter()
        gen, prefill = greedy(args.new_tokens)
        total = time.perf_counter() - t0
    out = torch.cat([ids, gen], dim=1)
    new = out.shape[1] - ids.shape[1]
    decode_s = max(total - prefill, 1e-9)
    print(json.dumps({"batch": args.batch, "new_tokens": int(new), "prefill_s": prefill,
                      "decode_s": decode_s, "total_s": total,
                      "tokens_per_s": args.batch * new / total,
                      "first_tokens": out[0, ids.shape[1]:ids.shape[1] + 8].cpu().tolist()}))


def tokenizer_bench(args):
    """Load time (best of --loads) and one-thread encode throughput of a tokenizer.json."""
    import os
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer
    load = []
    for _ in range(args.loads):
        t = time.perf_counter()
        tok = Tokenizer.from_file(args.tokenizer)
        load.append(time.perf_counter() - t)
    with open(args.corpus, encoding="utf-8") as f:
        lines = f.read().split("\n")
    best, tokens, checksum = None, 0, 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        n = 0
        for line in lines:
            n += len(tok.encode(line, add_special_tokens=False).ids)
        el = time.perf_counter() - t
        best = el if best is None else min(best, el)
        tokens = n
    for line in lines[:200]:
        for i in tok.encode(line, add_special_tokens=False).ids:
            checksum = (checksum * 31 + i) % 1000000007
    print(json.dumps({"load_s": min(load), "encode_s": best, "tokens": tokens,
                      "tokens_per_s": tokens / best, "checksum": checksum}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-model")
    m.add_argument("--arch", choices=["qwen2", "llama"], default="qwen2")
    m.add_argument("--size", choices=sorted(SIZES), default="tiny")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--eos", type=int, default=-1, help="override the EOS id")
    m.add_argument("--vocab", type=int, default=0, help="override the vocabulary size")
    m.add_argument("--tokenizer", default="", help="tokenizer.json to copy beside the model")
    d = sub.add_parser("decode")
    d.add_argument("--model", required=True)
    d.add_argument("--batch", type=int, default=1)
    d.add_argument("--prompt-len", type=int, default=32)
    d.add_argument("--new-tokens", type=int, default=32)
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--device", default="cpu")
    d.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32")
    t = sub.add_parser("tokenizer")
    t.add_argument("--tokenizer", required=True)
    t.add_argument("--corpus", required=True, help="text file, one input a line")
    t.add_argument("--loads", type=int, default=3)
    t.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    {"make-model": make_model, "decode": decode, "tokenizer": tokenizer_bench}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
