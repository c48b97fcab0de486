#!/usr/bin/env python3
"""The RLAE result bar: RLAE_MAPPO and RLAE_PPO over the zoo, several seeds, against the
best fixed-weight baseline and GaC-threshold, on the zoo's test split and on its
test-wording split (phrasings and words never seen in training); plus generalization to
task families the policy never saw in training. Writes experiments/rl-results.json and the results
section of experiments/README.md (with --name NAME: experiments/rl-NAME.json and a section of its own,
for studies that must not replace the published results).

    experiments/rl_bar.py [--seeds 1,2,3] [--algos mappo,ppo,mappo+vn,mappo+obsgroup,mappo+lr3e-4,mappo+ent0.003,mappo+it800]
                          [--iterations N] [--holdout sub,mul_sub [--holdout-algos mappo]] [--work DIR] [--name NAME]

Runs and evaluations already in --work are reused (--retrain redoes them).

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


def markers(name):  # the README section of --name NAME (default: the published results)
    return f"<!-- rl {name}: written by experiments/rl_bar.py -->", f"<!-- end of rl {name} -->"


def results_file(name):
    return os.path.join(HERE, f"rl-{name}.json")


REUSED = []  # results of earlier invocations in --work: this one's time is not the whole


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


SPLITS = ("test", "test-wording")


def evaluate(args, policies, out, families="", split="test"):
    if os.path.exists(out) and not args.retrain:  # measured already in this --work directory
        log(f"{out}: reusing the evaluation")
        REUSED.append(out)
        return json.load(open(out))
    cmd = [args.rlae, "eval", "--models", MEMBERS, "--data", os.path.join(args.data, f"{split}.jsonl"),
           "--per-family", str(args.per_family), "--max-new-tokens", "48", "--threads", "1",
           "--out", out]
    if families:
        cmd += ["--families", families]
    for p in policies:
        cmd += ["--policy", p]
    sh(cmd, out + ".log")
    return json.load(open(out))


# A variant is the algorithm and '+'-separated changes to experiments/quickstart.ini:
#   vn       MAPPO's value normalization (--value-norm true)
#   obsgroup every MAPPO agent observes the whole group (--agent-obs group; mappo only)
#   lrX      --lr X            entX   --entropy-coef X
#   itN      --iterations N    (default --iterations of this script)
# e.g. mappo+vn, mappo+obsgroup, mappo+lr3e-4, ppo+vn+it800.
# (prefix, type of the value after it, flag); a switch (type None) sets the flag to FLAGS[prefix].
VARIANTS = (("vn", None, "--value-norm"), ("obsgroup", None, "--agent-obs"), ("lr", float, "--lr"),
            ("ent", float, "--entropy-coef"), ("it", int, "--iterations"))
FLAGS = {"vn": "true", "obsgroup": "group"}


def variant(algo, iterations):
    base, *changes = algo.split("+")
    if base not in ("mappo", "ppo"):
        sys.exit(f"rl_bar.py: unknown algorithm '{base}' in --algos (mappo, ppo)")
    opts = {"--iterations": str(iterations)}
    for c in changes:
        if c == "obsgroup" and base != "mappo":
            sys.exit(f"rl_bar.py: '{algo}' in --algos: +obsgroup is for mappo (the ppo agent sees the group already)")
        for prefix, kind, flag in VARIANTS:
            if kind is None and c == prefix:
                opts[flag] = FLAGS[prefix]
                break
            if kind is not None and c.startswith(prefix) and c != prefix:
                try:
                    kind(c[len(prefix):])
                except ValueError:
                    sys.exit(f"rl_bar.py: '{c}' in --algos: '{c[len(prefix):]}' is not a {kind.__name__}")
                opts[flag] = c[len(prefix):]
                break
        else:
            sys.exit(f"rl_bar.py: unknown variant '+{c}' in --algos (known: +vn, +obsgroup, +lrX, +entX, +itN)")
    return base, [x for kv in opts.items() for x in kv]


def train(args, algo, seed, out, families=""):
    base_algo, options = variant(algo, args.iterations)
    final = int(options[options.index("--iterations") + 1])
    if os.path.exists(os.path.join(out, "checkpoints", f"ckpt-{final:06d}.safetensors")) and not args.retrain:
        log(f"{out}: reusing the finished run")
        REUSED.append(out)
    else:
        cmd = [os.path.join(REPO, "launch", "mpirun.sh"), "-np", "4", args.rlae, "train",
               "--config", "experiments/quickstart.ini", "--algo", base_algo, "--seed", str(seed),
               "--out", out] + options
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
    ap.add_argument("--holdout-algos", default="", help="the --algos trained for --holdout (default: all of them)")
    ap.add_argument("--retrain", action="store_true",
                    help="retrain runs that already finished and re-evaluate (otherwise --work's results are reused)")
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    ap.add_argument("--name", default="results",
                    help="results in experiments/rl-NAME.json and README section NAME (default: the published ones)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the README section from experiments/rl-NAME.json, run nothing")
    args = ap.parse_args()
    if args.report_only:
        write_readme(args, json.load(open(results_file(args.name))))
        log(f"rewrote the README section from {results_file(args.name)}")
        return
    t_start = time.time()
    seeds = [int(s) for s in args.seeds.split(",")]
    algos = args.algos.split(",")
    for algo in algos + (args.holdout_algos.split(",") if args.holdout_algos else []):
        variant(algo, args.iterations)  # a bad variant ends the script before any work
    os.makedirs(args.work, exist_ok=True)

    results_path = os.path.join(REPO, "experiments", "members", "results.json")
    best = json.load(open(results_path))["best_fixed_vector"]
    best_policy = "weights:" + ",".join(f"{x:g}" for x in best)
    fixed = ["uniform", "single:addsub", "single:muldiv", "single:chain", best_policy, "packllm",
             "gac-threshold:0.9"]
    by_split = {}
    for split in SPLITS:
        base = evaluate(args, fixed, os.path.join(args.work, f"fixed-{split}.json"), split=split)
        base_acc = {r["source"]: r["overall"]["accuracy"] for r in base}
        by_split[split] = {"fixed": base_acc, "best_fixed": best_policy,
                           "best_fixed_any": max(base_acc, key=base_acc.get),
                           "fixed_families": {r["source"]: {f: v["accuracy"] for f, v in r["families"].items()}
                                              for r in base},
                           "runs": {}}
    for algo in algos:
        for seed in seeds:
            out = os.path.join(args.work, f"{algo}-{seed}")
            ckpt = train(args, algo, seed, out)
            for split in SPLITS:
                r = evaluate(args, [f"rlae:{ckpt}"], f"{out}-{split}.json", split=split)[0]
                by_split[split]["runs"][f"{algo}-{seed}"] = {
                    "algo": algo, "seed": seed, "checkpoint": ckpt, "overall": r["overall"]["accuracy"],
                    "families": {f: v["accuracy"] for f, v in r["families"].items()}}
    for split, S in by_split.items():
        S["summary"] = {}
        for algo in algos:
            accs = [S["runs"][f"{algo}-{s}"]["overall"] for s in seeds]
            S["summary"][algo] = {
                "mean": statistics.mean(accs), "min": min(accs), "max": max(accs),
                "stdev": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "margin_over_best_fixed": statistics.mean(accs) - S["fixed"][best_policy],
                "margin_over_gac": statistics.mean(accs) - S["fixed"]["gac-threshold:0.9"]}
    # Held-out families, on both splits: the test split's wording, and wording never seen.
    general = {}
    if args.holdout:
        all_fams = sorted(by_split["test"]["fixed_families"][best_policy])
        held = args.holdout.split(",")
        unknown = [f for f in held if f not in all_fams]
        if unknown:
            sys.exit(f"rl_bar.py: --holdout {','.join(unknown)}: no such family (families: {','.join(all_fams)})")
        trained_on = ",".join(f for f in all_fams if f not in held)
        held_algos = args.holdout_algos.split(",") if args.holdout_algos else algos
        if any(a not in algos for a in held_algos):
            sys.exit(f"rl_bar.py: --holdout-algos {args.holdout_algos}: each must be one of --algos {args.algos}")
        ckpts = {(algo, seed): train(args, algo, seed, os.path.join(args.work, f"{algo}-{seed}-holdout"), trained_on)
                 for algo in held_algos for seed in seeds}
        for split in SPLITS:
            gbase = evaluate(args, fixed, os.path.join(args.work, f"fixed-heldout-{split}.json"), args.holdout, split)
            G = {}
            for algo in held_algos:
                accs, fams = [], {}
                for seed in seeds:
                    out = os.path.join(args.work, f"{algo}-{seed}-holdout")
                    r = evaluate(args, [f"rlae:{ckpts[(algo, seed)]}"], f"{out}-{split}.json", args.holdout, split)[0]
                    accs.append(r["overall"]["accuracy"])
                    for f, v in r["families"].items():
                        fams.setdefault(f, []).append(v["accuracy"])
                G[algo] = {"held_out": held, "trained_on": trained_on.split(","), "accuracy": accs,
                           "mean": statistics.mean(accs), "families": fams}
            G["fixed"] = {r["source"]: r["overall"]["accuracy"] for r in gbase}
            G["fixed_families"] = {r["source"]: {f: v["accuracy"] for f, v in r["families"].items()} for r in gbase}
            general[split] = G

    results = {"splits": by_split, "generalization": general, "per_family": args.per_family, "iterations": args.iterations,
               "seeds": seeds, "command": " ".join(["experiments/rl_bar.py"] + sys.argv[1:]),
               "minutes": round((time.time() - t_start) / 60), "reused": len(REUSED)}
    with open(results_file(args.name), "w") as f:
        json.dump(results, f, indent=2)
    write_readme(args, results)
    log(f"wrote {results_file(args.name)} and the README section '{args.name}'")


def label(algo):
    base, *changes = algo.split("+")
    names = {"vn": "value norm", "obsgroup": "group observations", "lr": "lr ", "ent": "entropy coef ",
             "it": "iterations "}
    out = []
    for c in changes:
        key = c if c in FLAGS else next((k for k in ("lr", "ent", "it") if c.startswith(k)), c)
        out.append(names.get(key, key) + (c[len(key):] if key not in FLAGS else ""))
    return f"RLAE_{base.upper()}" + "".join(f" + {x}" for x in out)


SPLIT_TITLES = {"test-wording": "test-wording: phrasings, names, objects, containers and places never seen in training",
                "test": "the test split (training's wording)"}


def write_readme(args, R):
    p = lambda x: f"{100 * x:.1f}"  # noqa: E731
    mean = statistics.mean
    BEGIN, END = markers(args.name)
    lines = [BEGIN, "",
             f"First {R['per_family']} problems of each family of each split; {R['iterations']} iterations per run "
             "(`experiments/quickstart.ini`: 1 learner + 3 actors under mpirun, trained on the train split), seeds "
             f"{', '.join(map(str, R['seeds']))}. Best fixed vector: the best single weight vector on dev "
             "(`experiments/members/results.json`). Bars: RLAE ≥ best fixed vector + 5 points and ≥ GaC-threshold."]
    for split in ("test-wording", "test"):
        S = R["splits"][split]
        fams = sorted(next(iter(S["runs"].values()))["families"])
        lines += ["", f"### On {SPLIT_TITLES[split]}", "", "| policy | accuracy (%) |", "|---|---:|"]
        for name, a in sorted(S["fixed"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name}{' (best fixed vector, dev)' if name == S['best_fixed'] else ''} | {p(a)} |")
        for algo, s in S["summary"].items():
            seeds = ", ".join(p(S["runs"][f"{algo}-{x}"]["overall"]) for x in R["seeds"])
            lines.append(f"| {label(algo)} (mean of seeds {seeds}; sd {p(s['stdev'])}) | {p(s['mean'])} |")
        lines += ["", "Margins: " + "; ".join(
            f"{label(a)} {100 * s['margin_over_best_fixed']:+.1f} over `{S['best_fixed']}`, "
            f"{100 * s['margin_over_gac']:+.1f} over GaC-threshold" for a, s in S["summary"].items()) + "."]
        lines += ["", "Per family (%; RLAE rows: mean over seeds):", "",
                  "| policy | " + " | ".join(fams) + " |", "|---|" + "---:|" * len(fams)]
        for name in (S["best_fixed"], "gac-threshold:0.9"):
            if name in S["fixed_families"]:
                ff = S["fixed_families"][name]
                lines.append(f"| {name} | " + " | ".join(p(ff.get(f, 0)) for f in fams) + " |")
        for algo in S["summary"]:
            row = [mean(S["runs"][f"{algo}-{x}"]["families"][f] for x in R["seeds"]) for f in fams]
            lines.append(f"| {label(algo)} | " + " | ".join(p(v) for v in row) + " |")
    for split in ("test-wording", "test"):
        g = R["generalization"].get(split)
        if not g:
            continue
        fx = g["fixed"]
        algos = [a for a in g if a not in ("fixed", "fixed_families")]
        held = g[algos[0]]["held_out"]
        lines += ["", f"Generalization on {SPLIT_TITLES[split]}: policies trained without {', '.join(held)} (on "
                  f"{', '.join(g[algos[0]]['trained_on'])}), tested on {', '.join(held)} only:", "",
                  "| policy | " + " | ".join(held) + " | both |", "|---|" + "---:|" * (len(held) + 1)]
        for name, a in sorted(fx.items(), key=lambda kv: -kv[1]):
            ff = g.get("fixed_families", {}).get(name, {})
            lines.append(f"| {name} | " + " | ".join(p(ff[f]) if f in ff else "" for f in held) + f" | {p(a)} |")
        for a in algos:
            v = g[a]
            per = [p(mean(v["families"][f])) for f in held]
            lines.append(f"| {label(a)} (seeds {', '.join(p(x) for x in v['accuracy'])}) | " +
                         " | ".join(per) + f" | {p(v['mean'])} |")
    lines += ["", f"Reproduce: `{R.get('command', 'experiments/rl_bar.py')}`"
              + (f" (~{R['minutes']} min on 2 cores)" if R.get("minutes") and not R.get("reused") else "")
              + "; needs the zoo and `experiments/members/results.json`.", "", END]
    text = open(args.readme).read()
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        title = "RLAE against fixed weights" if args.name == "results" else f"Learner study `{args.name}`"
        text += f"\n## {title}\n\n" + section + "\n"
    with open(args.readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
