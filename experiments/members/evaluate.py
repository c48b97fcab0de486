#!/usr/bin/env python3
"""Evaluates the member zoo and its fixed-weight ensembles; writes results.json and the
results section of experiments/members/README.md.

    experiments/members/evaluate.py [--rlae build/rlae] [--data runs/zoo/data]

Everything runs through `rlae eval` (greedy decoding, numeric answer check):
  1. each member alone on the test split and on test-wording: accuracy per family;
  2. on dev, every weight vector of a simplex grid (step 1/--grid) as a fixed ensemble
     policy: the best single vector (highest overall dev accuracy) and, per family, the
     best vector (per-family weights); the grid's corners are the members themselves,
     which also chooses the per-family routing (best member per family, on dev);
  3. on dev, for the multi-step families, a per-step schedule (one vector for the first
     solution step, another from the second step on), found by coordinate ascent from
     the per-family vector;
  4. on test and on test-wording (phrasings and words never seen in training), side by
     side: uniform, the best fixed vector, routing, per-family weights and the per-step
     schedule.
Choices are made on dev only; test figures are reported once per split.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MEMBERS = ["addsub", "muldiv", "chain"]
# What each member's recipe trains it for (experiments/members/recipes/*.ini).
SPECIALTIES = {"addsub": ["add", "sub"], "muldiv": ["mul", "div"],
               "chain": ["add_mul", "div_add", "mul_sub", "sub_div"]}
RESULTS_BEGIN = "<!-- results: written by experiments/members/evaluate.py -->"
RESULTS_END = "<!-- end of results -->"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def eval_cmd(args, out, extra, threads):
    extra = dict(extra)
    cmd = [args.rlae, "eval", "--data", extra.pop("data"), "--out", out,
           "--max-new-tokens", str(args.max_new_tokens), "--batch", str(args.batch),
           "--threads", str(threads)]
    for k, v in extra.items():
        for x in (v if isinstance(v, list) else [v]):
            cmd += [f"--{k}", str(x)]
    return cmd


def run_eval(args, out, extra, label):
    """One `rlae eval`; a list of policies is split over --jobs processes of one thread
    each (tiny members decode faster that way than with threads), reports in order."""
    policies = extra.get("policy")
    jobs = min(args.jobs, len(policies)) if isinstance(policies, list) else 1
    parts = []
    if jobs > 1:
        chunk = (len(policies) + jobs - 1) // jobs
        for j in range(jobs):
            sub = policies[j * chunk:(j + 1) * chunk]
            if sub:
                parts.append((f"{out}.part{j}", dict(extra, policy=sub), 1))
    else:
        parts.append((out, extra, args.threads))
    log(f"{label}: {len(parts)} process(es); " + " ".join(eval_cmd(args, *parts[0])))
    t0 = time.time()
    procs = [subprocess.Popen(eval_cmd(args, *p), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in parts]
    reports = []
    for p, (path, _, _) in zip(procs, parts):
        _, err = p.communicate()
        if p.returncode != 0:
            for q in procs:
                q.kill()
            sys.exit(f"rlae eval failed ({p.returncode}) for {label}:\n{err[-3000:]}")
        reports += json.load(open(path))
    if len(parts) > 1:
        with open(out, "w") as f:
            json.dump(reports, f, indent=2)
    log(f"{label}: done in {time.time() - t0:.0f} s")
    return reports


def acc(report, family=None):
    s = report["families"][family] if family else report["overall"]
    return s["accuracy"]


def simplex(k, steps):
    out = []
    for c in itertools.product(range(steps + 1), repeat=k):
        if sum(c) == steps:
            out.append(tuple(x / steps for x in c))
    return out


def wstr(v):
    return ",".join(f"{x:g}" for x in v)


def write_schedule(path, lines):
    with open(path, "w") as f:
        f.write("# written by experiments/members/evaluate.py\n")
        for fam, trigger, v in lines:
            f.write(f"{fam} {trigger} {wstr(v)}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlae", default=os.path.join(REPO, "build", "rlae"))
    ap.add_argument("--data", default=os.path.join(REPO, "runs", "zoo", "data"))
    ap.add_argument("--members-dir", default=HERE)
    ap.add_argument("--work", default=os.path.join(REPO, "runs", "zoo", "eval"))
    ap.add_argument("--dev-per-family", type=int, default=100)
    ap.add_argument("--test-per-family", type=int, default=300,
                    help="problems per family of each test split for the ensemble policies (0: all)")
    ap.add_argument("--member-per-family", type=int, default=500,
                    help="problems per family of each test split for each member alone (0: all)")
    ap.add_argument("--grid", type=int, default=4, help="simplex grid step 1/GRID")
    ap.add_argument("--rounds", type=int, default=1, help="coordinate-ascent rounds of the per-step search")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="LibTorch threads of a single evaluation")
    ap.add_argument("--jobs", type=int, default=2, help="parallel evaluations (one thread each) for policy lists")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    ap.add_argument("--readme-only", action="store_true", help="rewrite the README section from results.json")
    args = ap.parse_args()
    if args.readme_only:
        write_readme(args, json.load(open(os.path.join(args.members_dir, "results.json"))))
        return
    os.makedirs(args.work, exist_ok=True)
    t_start = time.time()
    models = [os.path.join(args.members_dir, m) for m in MEMBERS]
    dev = os.path.join(args.data, "dev.jsonl")
    splits = {"test": os.path.join(args.data, "test.jsonl"),
              "test-wording": os.path.join(args.data, "test-wording.jsonl")}
    for path in splits.values():
        if not os.path.exists(path):
            sys.exit(f"evaluate.py: {path} not found (rlae data make writes it; rerun experiments/members/train.sh)")
    ens = {"models": ",".join(models), "span": 1}

    # 1. Members alone, on test and on test-wording.
    member_on = {split: {} for split in splits}
    for split, data in splits.items():
        for name, path in zip(MEMBERS, models):
            member_on[split][name] = run_eval(args, os.path.join(args.work, f"member-{name}-{split}.json"),
                                              {"data": data, "model": path, "per-family": args.member_per_family},
                                              f"member {name} on {split}")[0]
    families = sorted(member_on["test"][MEMBERS[0]]["families"])
    multi = [f for f in families if "_" in f]

    # 2. Fixed weight vectors on dev.
    grid = simplex(len(MEMBERS), args.grid)
    reports = run_eval(args, os.path.join(args.work, "grid-dev.json"),
                       dict(ens, data=dev, **{"per-family": args.dev_per_family},
                            policy=[f"weights:{wstr(v)}" for v in grid]),
                       f"{len(grid)} weight vectors on dev")
    dev_grid = {v: r for v, r in zip(grid, reports)}
    best_fixed = max(grid, key=lambda v: (acc(dev_grid[v]), -grid.index(v)))
    per_family = {f: max(grid, key=lambda v: (acc(dev_grid[v], f), -grid.index(v))) for f in families}
    corners = [v for v in grid if max(v) == 1.0]
    routing = {f: max(corners, key=lambda v: (acc(dev_grid[v], f), -corners.index(v))) for f in families}

    # 3. Per-step schedules for the multi-step families (coordinate ascent on dev).
    step1 = {f: per_family[f] for f in multi}
    step2 = {f: per_family[f] for f in multi}
    best_step_dev = {f: acc(dev_grid[per_family[f]], f) for f in multi}
    for rnd in range(args.rounds):
        for which in ("first", "rest"):
            paths = []
            for i, u in enumerate(grid):
                lines = []
                for f in multi:
                    a, b = (u, step2[f]) if which == "first" else (step1[f], u)
                    lines += [(f, "step:0", a), (f, "step:1", b)]
                p = os.path.join(args.work, f"steps-r{rnd}-{which}-{i}.txt")
                write_schedule(p, lines)
                paths.append(p)
            reps = run_eval(args, os.path.join(args.work, f"steps-r{rnd}-{which}.json"),
                            dict(ens, data=dev, families=",".join(multi),
                                 **{"per-family": args.dev_per_family},
                                 policy=[f"schedule:{p}" for p in paths]),
                            f"per-step search round {rnd + 1} ({which} step) on dev")
            for f in multi:
                for u, r in zip(grid, reps):
                    if acc(r, f) > best_step_dev[f]:
                        best_step_dev[f] = acc(r, f)
                        if which == "first":
                            step1[f] = u
                        else:
                            step2[f] = u

    # 4. Test, side by side.
    sched_dir = args.members_dir
    pf_path = os.path.join(sched_dir, "schedules", "per-family.txt")
    rt_path = os.path.join(sched_dir, "schedules", "routing.txt")
    ps_path = os.path.join(sched_dir, "schedules", "per-step.txt")
    os.makedirs(os.path.dirname(pf_path), exist_ok=True)
    write_schedule(pf_path, [(f, "span:0", per_family[f]) for f in families])
    write_schedule(rt_path, [(f, "span:0", routing[f]) for f in families])
    ps_lines = []
    for f in families:
        if f in multi:
            ps_lines += [(f, "step:0", step1[f]), (f, "step:1", step2[f])]
        else:
            ps_lines.append((f, "span:0", per_family[f]))
    write_schedule(ps_path, ps_lines)
    policies = ["uniform", f"weights:{wstr(best_fixed)}", f"schedule:{rt_path}",
                f"schedule:{pf_path}", f"schedule:{ps_path}"]
    labels = ["uniform", "best fixed vector", "routing", "per-family weights", "per-step schedule"]
    def mean_over(report, fams):
        return sum(acc(report, f) for f in fams) / len(fams)

    results = {
        "families": families, "multi_step_families": multi, "members": MEMBERS,
        "best_fixed_vector": best_fixed, "per_family_vectors": per_family,
        "routing": {f: MEMBERS[routing[f].index(1.0)] for f in families},
        "per_step": {f: [step1[f], step2[f]] for f in multi},
        "dev_per_family": args.dev_per_family, "grid": args.grid, "splits": {},
        "command": " ".join(["experiments/members/evaluate.py"] + sys.argv[1:]),
        "minutes": None,
    }
    for split, data in splits.items():
        reports = run_eval(args, os.path.join(args.work, f"policies-{split}.json"),
                           dict(ens, data=data, **{"per-family": args.test_per_family}, policy=policies),
                           f"policies on {split}")
        T = dict(zip(labels, reports))
        member_test = member_on[split]
        best_single = max(MEMBERS, key=lambda m: acc(member_test[m]))

        def best_on(m):  # families where m is (one of) the best members, with accuracy > 0
            return [f for f in families if acc(member_test[m], f) > 0
                    and acc(member_test[m], f) >= max(acc(member_test[x], f) for x in MEMBERS)]

        bars = {
            "specialties": {m: {f: acc(member_test[m], f) for f in SPECIALTIES[m] if f in families}
                            for m in MEMBERS},
            "best_on": {m: best_on(m) for m in MEMBERS},
            "routing_minus_best_single": acc(T["routing"]) - acc(member_test[best_single]),
            "per_family_minus_best_fixed": acc(T["per-family weights"]) - acc(T["best fixed vector"]),
            "per_step_minus_per_family_multistep": mean_over(T["per-step schedule"], multi)
            - mean_over(T["per-family weights"], multi),
        }
        results["splits"][split] = {
            "member_test": {m: {f: acc(member_test[m], f) for f in families} | {"overall": acc(member_test[m])}
                            for m in MEMBERS},
            "best_single_member": best_single,
            "policies_test": {l: {f: acc(T[l], f) for f in families} | {"overall": acc(T[l])} for l in labels},
            "tokens_per_s": {l: T[l]["tokens_per_s"] for l in labels},
            "bars": bars,
            "test_problems": T["uniform"]["overall"]["problems"],
            "member_test_problems": member_test[MEMBERS[0]]["overall"]["problems"],
        }
    results["minutes"] = round((time.time() - t_start) / 60, 1)
    # The old top-level keys (rl_bar.py and quickstart.sh read best_fixed_vector).
    results.update(results["splits"]["test"])
    with open(os.path.join(args.members_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    write_readme(args, results)
    log("wrote results.json and the README results section")


def pct(x):
    return f"{100 * x:.1f}"


SPLIT_TITLES = {"test": "the test split (training's wording)",
                "test-wording": "test-wording (phrasings, names, objects, containers and places never seen in training)"}


def write_readme(args, R):
    fams, multi = R["families"], R["multi_step_families"]
    out = [RESULTS_BEGIN, "",
           f"Every choice made on dev ({R['dev_per_family']} per family), weight grid step 1/{R['grid']}; "
           "then measured once on each test split. Greedy decoding, numeric answer check, weights "
           "re-decided every token (span 1).", "",
           f"Best fixed vector (dev): {wstr(R['best_fixed_vector'])} ({', '.join(R['members'])}). Routing (dev): " +
           ", ".join(f"{f}→{m}" for f, m in R["routing"].items()) + ".",
           "Per-family vectors: " + "; ".join(f"{f} {wstr(v)}" for f, v in R["per_family_vectors"].items()) + ".",
           "Per-step schedule (first step / later steps): " +
           "; ".join(f"{f} {wstr(a)} / {wstr(b)}" for f, (a, b) in R["per_step"].items()) + ".",
           "The schedules are in `schedules/` (`rlae eval --policy schedule:FILE`)."]
    for split in ("test-wording", "test"):
        S = R["splits"][split]
        out += ["", f"### On {SPLIT_TITLES[split]}", "",
                f"Members alone: {S['member_test_problems']} problems; ensembles: the first "
                f"{S['test_problems'] // len(fams)} of each family ({S['test_problems']}).", "",
                "Each member alone (accuracy, %):", "",
                "| member | " + " | ".join(fams) + " | overall |",
                "|---|" + "---:|" * (len(fams) + 1)]
        for m in R["members"]:
            row = S["member_test"][m]
            cells = [(f"**{pct(row[f])}**" if f in S["bars"]["best_on"][m] else pct(row[f])) for f in fams]
            out.append(f"| {m} | " + " | ".join(cells) + f" | {pct(row['overall'])} |")
        out += ["", "Bold: the best member on that family. Ensembles of the three members (accuracy, %):", "",
                "| policy | " + " | ".join(fams) + " | overall | multi-step mean |",
                "|---|" + "---:|" * (len(fams) + 2)]
        for label, row in S["policies_test"].items():
            ms = sum(row[f] for f in multi) / len(multi)
            out.append(f"| {label} | " + " | ".join(pct(row[f]) for f in fams) +
                       f" | {pct(row['overall'])} | {pct(ms)} |")
        b = S["bars"]
        spec = "; ".join(f"{m}: " + ", ".join(f"{f} {pct(a)}" for f, a in fs.items()) +
                         f" (best member on {', '.join(b['best_on'][m]) or 'no family'})"
                         for m, fs in b["specialties"].items())
        out += ["", "| bar | required | reached |", "|---|---|---|",
                f"| each member ≥ 60% on its specialties | ≥ 60% | {spec} |",
                f"| routing − best single member ({S['best_single_member']}), overall | ≥ 15 points | "
                f"{100 * b['routing_minus_best_single']:+.1f} |",
                f"| per-family weights − best fixed vector, overall | ≥ 8 points | "
                f"{100 * b['per_family_minus_best_fixed']:+.1f} |",
                f"| per-step schedule − per-family weights, multi-step families | (≥ 5 points) | "
                f"{100 * b['per_step_minus_per_family_multistep']:+.1f} |"]
    out += ["", f"Reproduce: `{R.get('command', 'experiments/members/evaluate.py')}` (after "
            "`experiments/members/train.sh`; writes `results.json` and this section"
            + (f"; {R['minutes']} min on 2 cores" if R.get("minutes") else "") + ").", "", RESULTS_END]
    text = open(args.readme).read() if os.path.exists(args.readme) else ""
    section = "\n".join(out)
    if RESULTS_BEGIN in text and RESULTS_END in text:
        pre = text[:text.index(RESULTS_BEGIN)]
        post = text[text.index(RESULTS_END) + len(RESULTS_END):]
        text = pre + section + post
    else:
        text = text + "\n## Results\n\n" + section + "\n"
    with open(args.readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
