#!/usr/bin/env python3
"""Models written by rlae load in transformers with the same logits.

    compare_written_models.py DIR

DIR is what rlae_model_writer (tests/parity/write_model_for_hf.cpp) wrote: for every case in
DIR/manifest.json, DIR/<case>/model/ is loaded with transformers (float32, eager attention),
fed the same mixed-length prompt batch and the same 16 tokens that rlae chose, and its
last-position logits and final hidden states must match DIR/<case>/expected.safetensors to
1e-4. Exits 1 on any mismatch or missing file (never skips).
"""
import json
import os
import sys
import warnings

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import run_reference  # noqa: E402

TOL = 1e-4


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["cases"], "no cases in manifest"
    failed = False
    for name in manifest["cases"]:
        case_dir = os.path.join(root, name)
        exp = load_file(os.path.join(case_dir, "expected.safetensors"))
        model = AutoModelForCausalLM.from_pretrained(os.path.join(case_dir, "model"),
                                                     torch_dtype=torch.float32,
                                                     attn_implementation="eager")
        model.eval()
        flat = exp["prompt_ids"].tolist()
        prompts, off = [], 0
        for n in exp["prompt_lengths"].tolist():
            prompts.append(flat[off:off + n])
            off += n
        logits, hidden, tokens = run_reference(model, prompts, forced=exp["tokens"])
        d = (logits.double() - exp["logits"].double()).abs().max().item()
        dh = (hidden.double() - exp["hidden"].double()).abs().max().item()
        agree = bool((exp["logits"][:-1].argmax(-1) == tokens).all())
        ok = d <= TOL and dh <= TOL
        failed |= not ok
        print(f"[parity] {name} ({type(model).__name__}) written by rlae, run by transformers: "
              f"max |logits diff| = {d:.3g}, max |hidden diff| = {dh:.3g}, "
              f"greedy tokens agree: {agree} -> {'ok' if ok else 'FAIL'}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
