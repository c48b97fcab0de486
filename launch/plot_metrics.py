#!/usr/bin/env python3
"""Turns a training run's metrics into PNG plots.

  launch/plot_metrics.py RUN_DIR [RUN_DIR ...] [--out DIR]

Reads RUN_DIR/metrics.jsonl (one JSON object per iteration, as `rlae train`
writes it) and writes one PNG per metric (reward, accuracy, entropy, approx KL,
clip fraction, value loss, episodes/s, tokens/s, policy lag) with one line per
run, into --out (default: the first run directory's plots/).
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = [("mean_reward", "mean reward"), ("accuracy", "accuracy"), ("entropy", "policy entropy"),
           ("approx_kl", "approx. KL"), ("clip_fraction", "clip fraction"), ("value_loss", "value loss"),
           ("episodes_per_s", "episodes / s"), ("tokens_per_s", "tokens / s"), ("policy_lag", "policy lag")]


def read_run(path):
    rows = []
    with open(os.path.join(path, "metrics.jsonl")) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"plot_metrics: {path}/metrics.jsonl:{n}: malformed JSON ({e})")
    if not rows:
        sys.exit(f"plot_metrics: {path}/metrics.jsonl has no iterations")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default="")
    args = p.parse_args()
    runs = {r: read_run(r) for r in args.runs}
    out = args.out or os.path.join(args.runs[0], "plots")
    os.makedirs(out, exist_ok=True)
    written = []
    for key, label in METRICS:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        drawn = False
        for name, rows in runs.items():
            xs = [r["iteration"] for r in rows if key in r]
            ys = [r[key] for r in rows if key in r]
            if xs:
                ax.plot(xs, ys, label=os.path.basename(os.path.normpath(name)))
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend()
        fig.tight_layout()
        path = os.path.join(out, key + ".png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    print(f"plot_metrics: wrote {len(written)} plots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
