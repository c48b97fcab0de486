#!/usr/bin/env python3
"""The RLAE result bar: RLAE_MAPPO and RLAE_PPO over the zoo, several seeds, against the
best fixed-weight baseline, on the zoo's test split; plus generalization to task families
the policy never saw in training. Writes experiments/rl-results.json and the results
section of experiments/README.md.

    experiments/rl_bar.py [--seeds 1,2,3] [--algos mappo,ppo] [--iterations N]

Each run is `launch/mpirun.sh -np 4 rlae train --config experiments/quickstart.ini
--algo A --seed S` (1 learner + 3 actors); its last checkpoint is evaluated with
`rlae eval --policy rlae:CKPT` beside the fixed baselines (uniform, each member alone,
the best fixed vector chosen on dev by experiments/members/evaluate.py, PackLLM-sim,
GaC-threshold). With --holdout F1,F2,.. a second set of runs trains on the other families
only and is evaluated on the held-out ones.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MEMBERS = ",".join(f"experiments/members/{m}" for m in ("addsub", "muldiv", "chain"))
BEGIN = "<!-- rl results: written by experiments/rl_bar.py -->"
END = "<!-- end of rl results -->"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd, log_path):
    log(" ".join(cmd))
    t0 = time.time()
    with open(log_path, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}; see {log_path}")
    return time.time() - t0


def evaluate(args, policies, out, families=""):
    cmd = [args.rlae, "eval", "--models", MEMBERS, "--data", os.path.join(args.data, "test.jsonl"),
           "--per-family", str(args.per_family), "--max-new-tokens", "48", "--threads", "1",
           "--out", out]
    if families:
        cmd += ["--families", families]
    for p in policies:
        cmd += ["--policy", p]
    sh(cmd, out + ".log")
    return json.load(open(out))


def train(args, algo, seed, out, families=""):
    if os.path.exists(os.path.join(out, "checkpoints")) and not args.retrain:
        log(f"{out}: reusing the finished run")
    else:
        cmd = [os.path.join(REPO, "launch", "mpirun.sh"), "-np", "4", args.rlae, "train",
               "--config", "experiments/quickstart.ini", "--algo", algo, "--seed", str(seed),
               "--out", out, "--iterations", str(args.iterations)]
        if families:
            cmd += ["--families", families]
        secs = sh(cmd, out + ".log")
        log(f"{out}: trained in {secs:.0f} s")
    ckpts = sorted(f for f in os.listdir(os.path.join(out, "checkpoints")) if f.endswith(".safetensors"))
    return os.path.join(out, "checkpoints", ckpts[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlae", default=os.path.join(REPO, "build", "rlae"))
    ap.add_argument("--data", default=os.path.join(REPO, "runs", "zoo", "data"))
    ap.add_argument("--work", default=os.path.join(REPO, "runs", "bar"))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--algos", default="mappo,ppo")
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--per-family", type=int, default=250)
    ap.add_argument("--holdout", default="", help="families left out of training, for generalization")
    ap.add_argument("--retrain", action="store_true", help="retrain runs that already finished")
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    algos = args.algos.split(",")

    results_path = os.path.join(REPO, "experiments", "members", "results.json")
    best = json.load(open(results_path))["best_fixed_vector"]
    best_policy = "weights:" + ",".join(f"{x:g}" for x in best)
    fixed = ["uniform", "single:addsub", "single:muldiv", "single:chain", best_policy, "packllm",
             "gac-threshold:0.9"]
    base = evaluate(args, fixed, os.path.join(args.work, "fixed-test.json"))
    base_acc = {r["source"]: r["overall"]["accuracy"] for r in base}
    best_fixed_name = max(base_acc, key=base_acc.get)

    runs = {}
    for algo in algos:
        for seed in seeds:
            out = os.path.join(args.work, f"{algo}-{seed}")
            ckpt = train(args, algo, seed, out)
            r = evaluate(args, [f"rlae:{ckpt}"], out + "-test.json")[0]
            runs[f"{algo}-{seed}"] = {"algo": algo, "seed": seed, "checkpoint": ckpt,
                                      "overall": r["overall"]["accuracy"],
                                      "families": {f: v["accuracy"] for f, v in r["families"].items()}}
    summary = {}
    for algo in algos:
        accs = [runs[f"{algo}-{s}"]["overall"] for s in seeds]
        summary[algo] = {"mean": statistics.mean(accs), "min": min(accs), "max": max(accs),
                         "stdev": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                         "margin_over_best_fixed": statistics.mean(accs) - base_acc[best_fixed_name]}

    general = {}
    if args.holdout:
        all_fams = sorted(base[0]["families"])
        held = args.holdout.split(",")
        trained_on = ",".join(f for f in all_fams if f not in held)
        gbase = evaluate(args, fixed, os.path.join(args.work, "fixed-heldout.json"), args.holdout)
        for algo in algos:
            accs = []
            for seed in seeds:
                out = os.path.join(args.work, f"{algo}-{seed}-holdout")
                ckpt = train(args, algo, seed, out, trained_on)
                r = evaluate(args, [f"rlae:{ckpt}"], out + "-test.json", args.holdout)[0]
                accs.append(r["overall"]["accuracy"])
            general[algo] = {"held_out": held, "trained_on": trained_on.split(","), "accuracy": accs,
                             "mean": statistics.mean(accs)}
        general["fixed"] = {r["source"]: r["overall"]["accuracy"] for r in gbase}

    results = {"fixed": base_acc, "best_fixed": best_fixed_name, "runs": runs, "summary": summary,
               "generalization": general, "per_family": args.per_family, "iterations": args.iterations,
               "seeds": seeds}
    with open(os.path.join(HERE, "rl-results.json"), "w") as f:
        json.dump(results, f, indent=2)
    write_readme(args, results)
    log("wrote experiments/rl-results.json and the README section")


def write_readme(args, R):
    p = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = [BEGIN, "",
             f"Test split, first {R['per_family']} problems of each family; {R['iterations']} iterations "
             f"per run (experiments/quickstart.ini), seeds {', '.join(map(str, R['seeds']))}.", "",
             "| policy | test accuracy (%) |", "|---|---:|"]
    for name, a in sorted(R["fixed"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {p(a)} |")
    for algo, s in R["summary"].items():
        lines.append(f"| RLAE_{algo.upper()} (mean of {len(R['seeds'])} seeds; min {p(s['min'])}, max "
                     f"{p(s['max'])}, sd {p(s['stdev'])}) | {p(s['mean'])} |")
    lines += ["", f"Best fixed-weight baseline: `{R['best_fixed']}`. Margins (bar: ≥ +3.3 points): " +
              ", ".join(f"RLAE_{a.upper()} {100 * s['margin_over_best_fixed']:+.1f}" for a, s in R["summary"].items())
              + "."]
    g = R["generalization"]
    if g:
        fx = g["fixed"]
        lines += ["", "Generalization (trained without some families, tested on them only): " +
                  "; ".join(f"RLAE_{a.upper()} {p(v['mean'])}% on {', '.join(v['held_out'])}"
                            for a, v in g.items() if a != "fixed") +
                  f"; best fixed baseline there {p(max(fx.values()))}% (`{max(fx, key=fx.get)}`)."]
    lines += ["", "Reproduce: `experiments/rl_bar.py` (needs the zoo and `experiments/members/results.json`).",
              "", END]
    text = open(args.readme).read()
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text += "\n## RLAE against fixed weights\n\n" + section + "\n"
    with open(args.readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
