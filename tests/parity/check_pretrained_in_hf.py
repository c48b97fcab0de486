#!/usr/bin/env python3
"""A model written by `rlae pretrain` loads in transformers with rlae's logits.

    check_pretrained_in_hf.py DIR

DIR is what Pretrain.FixtureForHf (tests/unit/test_pretrain.cpp) wrote: a pretrained model
directory plus expected.safetensors (ids.<i>, logits.<i>: rlae's CausalLM over each example)
and text.<i>.txt (the example's text). transformers (float32, eager attention) must give the
same logits to 1e-4, and the directory's tokenizer.json, loaded by `tokenizers`, must encode
each text to the same ids. Exits 1 on any mismatch or missing file (never skips).
"""
import json
import os
import sys
import warnings

import torch
import transformers
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

TOL = 1e-4


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    exp = load_file(os.path.join(root, "expected.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(root, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    with open(os.path.join(root, "config.json")) as f:
        cfg = json.load(f)
    tok = Tokenizer.from_file(os.path.join(root, "tokenizer.json"))
    n = len([k for k in exp if k.startswith("ids.")])
    assert n > 0, "no examples in expected.safetensors"
    failed = False
    for i in range(n):
        ids = exp[f"ids.{i}"]
        with open(os.path.join(root, f"text.{i}.txt"), encoding="utf-8") as f:
            text = f.read()
        hf_ids = tok.encode(text, add_special_tokens=True).ids
        same_ids = hf_ids == ids.tolist()
        with torch.no_grad():
            logits = model(ids.unsqueeze(0)).logits[0]
        d = (logits.double() - exp[f"logits.{i}"].double()).abs().max().item()
        ok = d <= TOL and same_ids
        failed |= not ok
        print(f"[parity] pretrained example {i} ({type(model).__name__}, {len(ids)} tokens, "
              f"kv heads {cfg['num_key_value_heads']}/{cfg['num_attention_heads']}): "
              f"max |logits diff| = {d:.3g}, tokenizer ids agree: {same_ids} -> "
              f"{'ok' if ok else 'FAIL'}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
