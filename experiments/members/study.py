#!/usr/bin/env python3
"""Member recipe study on held-out wording, measured on dev-wording (never on test-wording).

Trains variants of a member's recipe (`rlae pretrain --config recipes/MEMBER.ini` plus the
variant's overrides), measures each one alone on dev-wording (other problems from the
held-out pools of test-wording), and with --ensemble swaps it into the zoo and runs
experiments/members/evaluate.py with dev-wording standing in for the held-out split, so
that the zoo's bars (routing over the best single member, per-family weights over the best
fixed vector) are read for the candidate before it is shipped. Writes study.json and the
"study" section of experiments/members/README.md.

    experiments/members/study.py \\
      --variant "chain-broad=chain --families add_mul:1,mul_sub:1,sub_div:1,div_add:1,add:0.25,sub:0.25,mul:0.25,div:0.25" \\
      --variant "muldiv-7000=muldiv --steps 7000" --ensemble chain-broad

A variant already trained in --work (its model.safetensors is there) is not retrained, and
an ensemble already evaluated is read back: rerunning extends the study. `--ensemble A+B`
swaps several variants (of different members) in at once. `--name NAME` writes study-NAME.json
and a README section of its own, leaving the earlier study's; the shipped members' figures
(deterministic: greedy decoding) are then read from study.json when it holds them for the
same number of problems.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import HERE, MEMBERS, REPO, SPECIALTIES, log, run_eval  # noqa: E402  (the zoo's one definition)

BEGIN = "<!-- study{}: written by experiments/members/study.py -->"
END = "<!-- end of study{} -->"


def parse_variant(text):
    name, _, rest = text.partition("=")
    words = shlex.split(rest)
    if not name or not words or words[0] not in MEMBERS:
        sys.exit(f"study.py: --variant '{text}': expected NAME=MEMBER [rlae pretrain options], MEMBER one of "
                 f"{','.join(MEMBERS)}")
    return {"name": name, "member": words[0], "args": words[1:]}


def train(args, variants):
    """Trains the variants not yet trained, two at a time (one LibTorch thread each)."""
    todo = [v for v in variants if not os.path.exists(os.path.join(args.work, v["name"], "model.safetensors"))]
    running = []
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    while todo or running:
        while todo and len(running) < args.jobs:
            v = todo.pop(0)
            out = os.path.join(args.work, v["name"])
            cmd = [args.rlae, "pretrain", "--config", os.path.join(HERE, "recipes", v["member"] + ".ini"),
                   *v["args"], "--out", out, "--threads", "1"]
            log(f"training {v['name']}: {shlex.join(cmd)}")
            logf = open(out + ".log", "w")
            running.append((v, subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=REPO),
                            time.time(), logf))
        time.sleep(2)
        for item in list(running):
            v, p, t0, logf = item
            if p.poll() is None:
                continue
            running.remove(item)
            logf.close()
            if p.returncode != 0:
                sys.exit(f"study.py: training {v['name']} failed (exit {p.returncode}); see {args.work}/{v['name']}.log")
            with open(os.path.join(args.work, v["name"], "train_seconds"), "w") as f:
                f.write(f"{time.time() - t0:.0f}\n")
            log(f"{v['name']}: trained in {time.time() - t0:.0f} s")


def member_eval(args, label, model_dir):
    out = os.path.join(args.work, "eval", label + ".json")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        eargs = argparse.Namespace(rlae=args.rlae, max_new_tokens=48, batch=64, threads=2, jobs=1)
        run_eval(eargs, out + ".part", {"data": os.path.join(args.data, "dev-wording.jsonl"), "model": model_dir,
                                        "per-family": args.per_family}, label)
        os.replace(out + ".part", out)
    r = json.load(open(out))[0]
    return {f: round(100 * v["accuracy"], 1) for f, v in r["families"].items()} | \
        {"overall": round(100 * r["overall"]["accuracy"], 1)}


def ensemble_eval(args, label, members):
    """evaluate.py on a zoo of these member directories, dev-wording as its held-out split."""
    zoo = os.path.join(args.work, "zoo-" + label)
    results = os.path.join(zoo, "members", "results.json")
    if not os.path.exists(results):
        os.makedirs(os.path.join(zoo, "members", "schedules"), exist_ok=True)
        os.makedirs(os.path.join(zoo, "data"), exist_ok=True)
        links = {os.path.join(zoo, "members", m): d for m, d in members.items()}
        links |= {os.path.join(zoo, "data", name): os.path.join(args.data, src)
                  for name, src in (("dev.jsonl", "dev.jsonl"), ("test.jsonl", "test.jsonl"),
                                    ("test-wording.jsonl", "dev-wording.jsonl"))}
        for link, target in links.items():
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(os.path.abspath(target), link)
        readme = os.path.join(zoo, "readme.md")
        with open(readme, "w") as f:
            f.write("<!-- results: written by experiments/members/evaluate.py -->\n<!-- end of results -->\n")
        cmd = [sys.executable, os.path.join(HERE, "evaluate.py"), "--rlae", args.rlae, "--data",
               os.path.join(zoo, "data"), "--members-dir", os.path.join(zoo, "members"), "--work",
               os.path.join(zoo, "work"), "--readme", readme, "--dev-per-family", "60", "--member-per-family",
               str(args.per_family), "--test-per-family", "200"]
        log(f"ensembles of zoo {label}: {shlex.join(cmd)}")
        with open(os.path.join(zoo, "evaluate.log"), "w") as logf:
            subprocess.run(cmd, check=True, stdout=logf, stderr=subprocess.STDOUT, cwd=REPO)
    split = json.load(open(results))["splits"]["test-wording"]  # = dev-wording here
    pol = split["policies_test"]
    pct = lambda x: round(100 * x, 1)  # results.json holds fractions
    return {"best_single_member": split["best_single_member"],
            "best_single": pct(split["member_test"][split["best_single_member"]]["overall"]),
            "best_fixed": pct(pol["best fixed vector"]["overall"]), "routing": pct(pol["routing"]["overall"]),
            "per_family": pct(pol["per-family weights"]["overall"]),
            "routing_minus_best_single": pct(split["bars"]["routing_minus_best_single"]),
            "per_family_minus_best_fixed": pct(split["bars"]["per_family_minus_best_fixed"])}


def write_readme(path, study, command, name):
    tag = " " + name if name else ""
    begin, end = BEGIN.format(tag), END.format(tag)
    fams = sorted(next(iter(study["members"].values()))["accuracy"].keys() - {"overall"})
    lines = [begin, "", "Each member alone on dev-wording (%d problems per family; accuracy, %%); bold: "
             "the member's specialties." % study["per_family"], "",
             "| member | recipe | train s | " + " | ".join(fams) + " | overall |",
             "|---|---|---:|" + "---:|" * (len(fams) + 1)]
    for label, r in study["members"].items():
        cells = [("**%.1f**" if f in SPECIALTIES[r["member"]] else "%.1f") % r["accuracy"][f] for f in fams]
        recipe = "shipped" if not r["args"] else "`" + " ".join(r["args"]) + "`"
        lines.append(f"| {label} | {recipe} | {r['train_seconds'] or '-'} | " + " | ".join(cells) +
                     f" | {r['accuracy']['overall']:.1f} |")
    if study["ensembles"]:
        lines += ["", "Zoos on dev-wording (evaluate.py, choices on dev; overall accuracy, %):", "",
                  "| zoo | best single member | best fixed vector | routing | per-family weights | "
                  "routing − best single (bar 15) | per-family − best fixed (bar 8) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for label, e in study["ensembles"].items():
            lines.append(f"| {label} | {e['best_single']:.1f} ({e['best_single_member']}) | {e['best_fixed']:.1f} | "
                         f"{e['routing']:.1f} | {e['per_family']:.1f} | {e['routing_minus_best_single']:+.1f} | "
                         f"{e['per_family_minus_best_fixed']:+.1f} |")
    lines += ["", f"Reproduce: `{command}` (after `experiments/members/train.sh`; a variant trains on one core, "
              "two at a time; \"train s\" is its wall time with the other core busy; what --work already holds "
              "is reused).",
              "", end]
    text = open(path).read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + "\n".join(lines) + text[text.index(end) + len(end):]
    else:
        title = f"Recipe study `{name}` on held-out wording" if name else "Recipe study on held-out wording"
        text = text.rstrip("\n") + f"\n\n## {title}\n\n" + "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlae", default=os.path.join(REPO, "build", "rlae"))
    ap.add_argument("--data", default=os.path.join(REPO, "runs", "zoo", "data"))
    ap.add_argument("--work", default=os.path.join(REPO, "runs", "zoo-study"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=MEMBER [OPTIONS]")
    ap.add_argument("--ensemble", action="append", default=[], metavar="NAME[+NAME...]",
                    help="also evaluate the zoo with these variants in their members' places")
    ap.add_argument("--name", default="", help="write study-NAME.json and a README section of its own")
    ap.add_argument("--per-family", type=int, default=250)
    ap.add_argument("--jobs", type=int, default=2, help="variants trained at once")
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variant]
    by_name = {v["name"]: v for v in variants}
    if args.name and not args.name.replace("-", "").replace("_", "").isalnum():
        sys.exit(f"study.py: --name '{args.name}': letters, digits, - and _ only")
    for e in args.ensemble:
        parts = e.split("+")
        for part in parts:
            if part not in by_name:
                sys.exit(f"study.py: --ensemble {e}: no --variant named '{part}'")
        if len({by_name[p]["member"] for p in parts}) != len(parts):
            sys.exit(f"study.py: --ensemble {e}: two variants of the same member")
    if not os.path.exists(os.path.join(args.data, "dev-wording.jsonl")):
        sys.exit(f"study.py: {args.data}/dev-wording.jsonl not found (rlae data make --out {args.data} --seed 1 "
                 "--train 50000 writes it)")
    os.makedirs(args.work, exist_ok=True)
    train(args, variants)
    study = {"per_family": args.per_family, "members": {}, "ensembles": {}}
    earlier = {}
    if args.name and os.path.exists(os.path.join(HERE, "study.json")):
        earlier = json.load(open(os.path.join(HERE, "study.json")))
        if earlier.get("per_family") != args.per_family:
            earlier = {}
    for m in MEMBERS:
        known = earlier.get("members", {}).get(m)
        study["members"][m] = known or {"member": m, "args": [], "train_seconds": None,
                                        "accuracy": member_eval(args, "shipped-" + m, os.path.join(HERE, m))}
    for v in variants:
        d = os.path.join(args.work, v["name"])
        secs = open(os.path.join(d, "train_seconds")).read().strip() if os.path.exists(
            os.path.join(d, "train_seconds")) else None
        study["members"][v["name"]] = {"member": v["member"], "args": v["args"], "train_seconds": secs,
                                       "accuracy": member_eval(args, v["name"], d)}
        log(f"{v['name']}: {study['members'][v['name']]['accuracy']}")
    if args.ensemble:
        shipped = {m: os.path.join(HERE, m) for m in MEMBERS}
        study["ensembles"]["shipped"] = (earlier.get("ensembles", {}).get("shipped")
                                         or ensemble_eval(args, "shipped", shipped))
        for e in args.ensemble:
            swapped = {by_name[p]["member"]: os.path.join(args.work, p) for p in e.split("+")}
            study["ensembles"][e] = ensemble_eval(args, e.replace("+", "-"), shipped | swapped)
            log(f"zoo with {e}: {study['ensembles'][e]}")
    command = "experiments/members/study.py " + " ".join(
        [f"--variant {shlex.quote(v)}" for v in args.variant] + [f"--ensemble {e}" for e in args.ensemble] +
        ([f"--name {args.name}"] if args.name else []))
    study["command"] = command
    out = "study-%s.json" % args.name if args.name else "study.json"
    with open(os.path.join(HERE, out), "w") as f:
        json.dump(study, f, indent=2)
    write_readme(args.readme, study, command, args.name)
    log(f"wrote {out} and the README study section")


if __name__ == "__main__":
    main()
