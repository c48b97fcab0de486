#!/usr/bin/env python3
"""Tokenizers written by `rlae tokenizer train` load in Hugging Face and agree with rlae.

    check_trained_tokenizer.py RLAE_BINARY WORK_DIR

Generates a small problem suite (`rlae data make`), trains one tokenizer per style
(bytelevel, metaspace) on it with `rlae tokenizer train`, then for >= 1,000 strings
(held-out problems as members see them, plus the adversarial strings of the generic
tokenizer fixtures: Unicode, emoji, code, odd spaces, special-token look-alikes) checks
that
  * `tokenizers.Tokenizer.from_file` gives the same ids as `rlae tokenizer encode`,
    with and without the post-processor template, and the same decoded text;
  * transformers' AutoTokenizer loads the output directory (tokenizer_config.json)
    and encodes problems to the same ids;
  * training is deterministic (a second run writes the identical file).
Exits non-zero with a one-line reason per mismatch (the first few).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import test_strings  # noqa: E402

from tokenizers import Tokenizer  # noqa: E402


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(args)}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    rlae, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    suite = os.path.join(work, "suite")
    run(rlae, "data", "make", "--out", suite, "--train", "300", "--dev", "20", "--test", "20",
        "--seed", "7")
    problems = [json.loads(l) for l in open(os.path.join(suite, "test.jsonl"))]
    texts = [f"Question: {p['question']}\nAnswer: {p['answer']}" for p in problems]
    strings = texts + [p["question"] for p in problems] + test_strings(11, 900)
    strings_file = os.path.join(work, "strings.jsonl")
    with open(strings_file, "w") as f:
        for s in strings:
            f.write(json.dumps(s) + "\n")

    failures = []
    for style, vocab in (("bytelevel", 600), ("metaspace", 700)):
        out = os.path.join(work, style)
        run(rlae, "tokenizer", "train", "--corpus", os.path.join(suite, "train.jsonl"),
            "--out", out, "--style", style, "--vocab-size", str(vocab))
        first = open(os.path.join(out, "tokenizer.json")).read()
        again = os.path.join(work, style + "-again.json")
        run(rlae, "tokenizer", "train", "--corpus", os.path.join(suite, "train.jsonl"),
            "--out", again, "--style", style, "--vocab-size", str(vocab))
        if open(again).read() != first:
            failures.append(f"{style}: a second training run wrote a different tokenizer.json")
        hf = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
        if hf.get_vocab_size() != vocab:
            failures.append(f"{style}: vocabulary {hf.get_vocab_size()} != --vocab-size {vocab}")
        for specials in (False, True):
            enc = os.path.join(work, f"{style}-{specials}.jsonl")
            run(rlae, "tokenizer", "encode", "--tokenizer", os.path.join(out, "tokenizer.json"),
                "--input", strings_file, "--output", enc, "--add-special-tokens",
                "true" if specials else "false")
            ours = [json.loads(l) for l in open(enc)]
            assert len(ours) == len(strings), (len(ours), len(strings))
            bad = 0
            for s, o in zip(strings, ours):
                ids = hf.encode(s, add_special_tokens=specials).ids
                dec = hf.decode(ids, skip_special_tokens=False)
                if ids != o["ids"] or dec != o["decoded"]:
                    bad += 1
                    if bad <= 3:
                        failures.append(f"{style} specials={specials}: {s!r}: rlae {o['ids']} "
                                        f"{o['decoded']!r} vs HF {ids} {dec!r}")
            print(f"{style} add_special_tokens={specials}: {len(strings)} strings, "
                  f"{bad} mismatches")
            if bad:
                failures.append(f"{style} specials={specials}: {bad} of {len(strings)} differ")
        # Round trip: the tokenizers are lossless on the problems.
        for t in texts:
            d = hf.decode(hf.encode(t).ids)
            if d != t:
                failures.append(f"{style}: decode(encode(x)) != x for {t!r}: {d!r}")
                break
        try:
            from transformers import AutoTokenizer
        except ImportError:
            failures.append("transformers is not installed (launch/setup-python.sh)")
            continue
        at = AutoTokenizer.from_pretrained(out)
        ours = [json.loads(l) for l in open(os.path.join(work, f"{style}-True.jsonl"))]
        bad = sum(at(s)["input_ids"] != o["ids"] for s, o in zip(texts, ours))
        print(f"{style} transformers AutoTokenizer: {len(texts)} problems, {bad} mismatches")
        if bad:
            failures.append(f"{style}: transformers encodes {bad} of {len(texts)} problems differently")
        eos = at.eos_token
        if eos is None or at.convert_tokens_to_ids(eos) is None:
            failures.append(f"{style}: transformers sees no EOS token")
    for f in failures[:20]:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
