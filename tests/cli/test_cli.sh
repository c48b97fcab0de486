#!/usr/bin/env bash
# The rlae binary as a user meets it: exit codes, one-line errors, info.
set -u
rlae=$1
fail=0
check() { # check NAME EXPECTED_RC CMD...   (stdout+stderr in $out)
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); local rc=$?
  if [ "$rc" != "$want" ]; then echo "FAIL $name: exit $rc, expected $want; output: $out"; fail=1; return 1; fi
  echo "ok   $name"
}
contains() { # contains NAME TEXT
  if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2': $out"; fail=1; fi
}

check "no command" 2 "$rlae"
check "unknown command" 2 "$rlae" frobnicate; contains "unknown command" "unknown command 'frobnicate'"
check "help" 0 "$rlae" --help; contains "help" "info"
check "train unknown flag" 2 "$rlae" train --no-such-flag
contains "train unknown flag" "rlae train: unknown option '--no-such-flag'"
[ "$(wc -l <<<"$out")" = 1 ] || { echo "FAIL train unknown flag: not one line: $out"; fail=1; }
check "train bad value" 2 "$rlae" train --lr fast; contains "train bad value" "expected FLOAT"
check "train help" 0 "$rlae" train --help; contains "train help" "--clip"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'lr = 3e-4\nbogus_key = 1\n' > "$tmp/run.ini"
check "train bad ini" 2 "$rlae" train --config "$tmp/run.ini"; contains "train bad ini" "bogus_key"
check "train missing ini" 2 "$rlae" train --config "$tmp/none.ini"; contains "train missing ini" "none.ini"
printf 'lr = 3e-4\n' > "$tmp/ok.ini"
check "train needs members" 2 "$rlae" train --config "$tmp/ok.ini"; contains "train needs members" "--members"
check "train one member" 1 "$rlae" train --members "$tmp/a" --train-data "$tmp/none.jsonl" --out "$tmp/run"
check "train unwritable out" 1 "$rlae" train --members a,b --train-data x.jsonl --out /proc/rlae-run
contains "train unwritable out" "/proc"
check "generate missing model" 1 "$rlae" generate --model "$tmp/none" --prompt hi
contains "generate missing model" "not a model directory"
check "generate no prompt" 2 "$rlae" generate --model "$tmp/none"
check "bench unknown" 2 "$rlae" bench frobnicate
check "bench train needs members" 2 "$rlae" bench train
check "bench train missing member" 1 "$rlae" bench train --members "$tmp/none,$tmp/none2"
contains "bench train missing member" "not a model directory"
check "bench train one iteration" 2 "$rlae" bench train --members a,b --iterations 1
check "bench tokenizer help" 0 "$rlae" bench tokenizer --help; contains "bench tokenizer help" "load time"
check "bench tokenizer missing file" 2 "$rlae" bench tokenizer --tokenizers "$tmp/none.json"
contains "bench tokenizer missing file" "no tokenizer file $tmp/none.json"
check "eval needs a model" 2 "$rlae" eval --data "$tmp/none.jsonl"
check "eval both model kinds" 2 "$rlae" eval --model a --models a,b --data x
check "eval missing data" 1 "$rlae" eval --model "$tmp/none" --data "$tmp/none.jsonl"
contains "eval missing data" "none.jsonl"
check "tokenizer train missing corpus" 1 "$rlae" tokenizer train --corpus "$tmp/none.jsonl" --out "$tmp/tok"
contains "tokenizer train missing corpus" "none.jsonl"
check "tokenizer train bad style" 2 "$rlae" tokenizer train --corpus x --out y --style wordpiece
contains "tokenizer train bad style" "--style"
printf '{"question": "a"}\n' > "$tmp/q.jsonl"
check "tokenizer train missing field" 1 "$rlae" tokenizer train --corpus "$tmp/q.jsonl" --out "$tmp/tok"
contains "tokenizer train missing field" "q.jsonl:1"
printf 'hello world\nhello there\n' > "$tmp/c.txt"
check "tokenizer train text" 0 "$rlae" tokenizer train --corpus "$tmp/c.txt" --out "$tmp/tok" --vocab-size 300
[ -f "$tmp/tok/tokenizer.json" ] && [ -f "$tmp/tok/tokenizer_config.json" ] || { echo "FAIL tokenizer train wrote no files"; fail=1; }
check "tokenizer sub" 2 "$rlae" tokenizer frobnicate
check "data make negative split" 2 "$rlae" data make --out "$tmp/suite" --dev-wording -1
contains "data make negative split" "--dev-wording must be >= 0"
check "data make" 0 "$rlae" data make --out "$tmp/suite" --seed 2 --train 20 --dev 5 --test 5 --test-wording 7 --dev-wording 3
contains "data make" "160 / 40 / 40 / 56 / 24 problems"
for f in train dev test test-wording dev-wording; do
  [ -s "$tmp/suite/$f.jsonl" ] || { echo "FAIL data make: no $f.jsonl"; fail=1; }
done
# dev-wording takes other problems from the held-out pools than test-wording does
if [ -s "$tmp/suite/dev-wording.jsonl" ] && python3 - "$tmp/suite" <<'PY'
import json, sys
q = lambda f: {json.loads(l)["question"] for l in open(f"{sys.argv[1]}/{f}.jsonl")}
sys.exit(1 if q("dev-wording") & (q("test-wording") | q("train") | q("dev") | q("test")) else 0)
PY
then echo "ok   data make dev-wording disjoint"; else echo "FAIL data make: dev-wording shares a problem with another split"; fail=1; fi
for c in eval replay sweep pretrain bench generate data tokenizer train; do
  check "$c unknown flag" 2 "$rlae" $c --no-such-flag
done
# experiments/reference.ini spells out the paper's hyperparameters; they must also be the
# built-in defaults (each value equals the default rlae train --help prints).
check "train help for reference" 0 "$rlae" train --help
printf '%s\n' "$out" > "$tmp/train-help.txt"
here=$(cd "$(dirname "$0")" && pwd)
if python3 "$here/check_reference_defaults.py" "$here/../../experiments/reference.ini" "$tmp/train-help.txt"; then
  echo "ok   reference.ini = built-in defaults"
else
  echo "FAIL reference.ini differs from the built-in defaults"; fail=1
fi
# The shipped sweep example plans (its base config and every trial are valid train configs).
if (cd "$here/../.." && "$rlae" sweep plan --grid experiments/sweep-example.ini --out "$tmp/sweep-example" >/dev/null) \
   && [ "$(ls -d "$tmp"/sweep-example/trial-* | wc -l)" = 12 ]
then echo "ok   experiments/sweep-example.ini plans 12 trials"
else echo "FAIL experiments/sweep-example.ini does not plan"; fail=1; fi
check "info" 0 "$rlae" info
for k in LibTorch BLAS MPI HDF5 ZeroMQ Boost CUDA NCCL GPUs; do contains "info" "$k"; done
check "info json" 0 "$rlae" info --json
for k in libtorch mpi hdf5 zeromq boost cuda_compiled nccl_compiled gpus_visible; do contains "info json" "\"$k\""; done
# Placement: a bad --device is a bad value (2); --device cuda without a GPU fails before
# any member loads (1), with one line, also under mpirun (rank 0 alone says it).
check "train bad device" 2 "$rlae" train --members a,b --train-data x.jsonl --device cuda:x
contains "train bad device" "expected auto|cpu|cuda[:N]"
gpus=$("$rlae" info --json | sed -n 's/.*"gpus_visible": *\([0-9]*\).*/\1/p')
if [ "${gpus:-0}" = 0 ]; then
  check "train cuda without gpu" 1 "$rlae" train --members "$tmp/none,$tmp/none2" --train-data x.jsonl --device cuda
  contains "train cuda without gpu" "--device cuda: no GPU is visible"
  if command -v mpirun >/dev/null; then
    check "mpirun train cuda without gpu" 1 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      timeout 60 mpirun --oversubscribe -np 3 "$rlae" train --members "$tmp/none,$tmp/none2" --train-data x.jsonl \
      --device cuda
    n=$(grep -c -- "--device cuda: no GPU is visible" <<<"$out")
    [ "$n" = 1 ] || { echo "FAIL mpirun train cuda without gpu: said $n times: $out"; fail=1; }
  fi
  check "eval cuda without gpu" 1 "$rlae" eval --model "$tmp/none" --data x.jsonl --device cuda:0
else
  echo "skip --device cuda without a GPU: $gpus GPUs visible here"
fi
# Every bad option value exits 2 with one line naming the option, before any file is read (issue 17).
bad_value() {  # NAME TEXT CMD...
  local name=$1 text=$2; shift 2
  check "$name" 2 "$@" && contains "$name" "$text"
  [ "$(wc -l <<<"$out")" = 1 ] || { echo "FAIL $name: not one line: $out"; fail=1; }
}
tr=(train --members a,b --train-data "$tmp/none.jsonl" --out "$tmp/run")
bad_value "train --algo" "algorithm 'foo'" "$rlae" "${tr[@]}" --algo foo
bad_value "train --agent-obs" "agent observation 'foo'" "$rlae" "${tr[@]}" --agent-obs foo
bad_value "train ppo --agent-obs group" "--agent-obs group is for --algo mappo" "$rlae" "${tr[@]}" --algo ppo --agent-obs group
bad_value "train --answer-mode" "answer mode 'foo'" "$rlae" "${tr[@]}" --answer-mode foo
bad_value "train --mix" "mix mode 'foo'" "$rlae" "${tr[@]}" --mix foo
bad_value "train --families" "--families: empty item" "$rlae" "${tr[@]}" --families ,
bad_value "train --batch 0" "--batch must be >= 1" "$rlae" "${tr[@]}" --batch 0
bad_value "train --lr" "--lr must be > 0" "$rlae" "${tr[@]}" --lr -0.001
bad_value "train --gamma" "--gamma and --gae-lambda" "$rlae" "${tr[@]}" --gamma 2
bad_value "train --max-grad-norm" "--max-grad-norm must be >= 0" "$rlae" "${tr[@]}" --max-grad-norm -1
bad_value "train --slots" "--slots must be >= 1" "$rlae" "${tr[@]}" --slots 0
bad_value "train --heartbeat-ms" "heartbeat_ms must be positive" "$rlae" "${tr[@]}" --heartbeat-ms 0
bad_value "train --max-policy-lag" "--max-policy-lag must be >= 0" "$rlae" "${tr[@]}" --max-policy-lag -1
ev=(eval --models a,b --data "$tmp/none.jsonl")
bad_value "eval --mix" "mix mode 'foo'" "$rlae" "${ev[@]}" --mix foo
bad_value "eval --answer-mode" "answer mode 'foo'" "$rlae" "${ev[@]}" --answer-mode foo
bad_value "eval --temperature" "--temperature must be >= 0" "$rlae" "${ev[@]}" --temperature -1
bad_value "eval --span" "--span and --top-k" "$rlae" "${ev[@]}" --span 0
bad_value "eval --per-family" "--per-family must be >= 0" "$rlae" "${ev[@]}" --per-family -1
bad_value "eval --policy unknown" "unknown policy" "$rlae" "${ev[@]}" --policy foo
bad_value "eval --policy weights" "'x' is not a number" "$rlae" "${ev[@]}" --policy weights:x,1
bad_value "eval --policy single" "member index 9" "$rlae" "${ev[@]}" --policy single:9
bad_value "eval --policy long index" "member index -1" "$rlae" "${ev[@]}" --policy single:99999999999999999999
pt=(pretrain --tokenizer x.json --data x.jsonl --out "$tmp/pt" --steps 1)
bad_value "pretrain --beta1" "--beta1 and --beta2" "$rlae" "${pt[@]}" --beta1 2
bad_value "pretrain --init-std" "--init-std must be positive" "$rlae" "${pt[@]}" --init-std 0
bad_value "bench exchange --ranks" "--ranks: 'x' is not an integer" "$rlae" bench exchange --ranks 2,x
bad_value "bench exchange --iters" "--iters" "$rlae" bench exchange --iters 0
bad_value "bench decode --batches" "--batches: 'x' is not an integer" "$rlae" bench decode --batches x --python /nonexistent
bad_value "bench decode --sizes" "--sizes: expected tiny" "$rlae" bench decode --sizes huge --python /nonexistent
bad_value "bench ensemble --batches" "--batches: 0 is outside" "$rlae" bench ensemble --models a,b --batches 0
bad_value "bench ensemble --mix" "mix mode 'foo'" "$rlae" bench ensemble --models a,b --mix foo
bad_value "bench train --layouts" "--layouts: inprocess or mpirun" "$rlae" bench train --members a,b --layouts foo
bad_value "bench train --max-new-tokens" "--max-new-tokens and --batch" "$rlae" bench train --members a,b --max-new-tokens 0
bad_value "sweep slurm --time" "is not a Slurm time" "$rlae" sweep slurm --sweep "$tmp/none" --time 'xx'
bad_value "sweep slurm --time newline" "is not a Slurm time" "$rlae" sweep slurm --sweep "$tmp/none" --time $'1:00\n#SBATCH --x'

# Checks before work: every prompt of the data fits every member's context with
# --max-new-tokens, before any decoding. s-1 fits the members' context with the default 128
# new tokens, s-2 (about 50 tokens) does not, and too-long does not fit at all.
zoo="$here/../../experiments/members"
if [ -f "$zoo/addsub/config.json" ]; then
  ctx=$(sed -n 's/.*"max_position_embeddings": *\([0-9]*\).*/\1/p' "$zoo/addsub/config.json")
  s2="Tom has 3 apples and buys 4 more. Then he finds 5 pears under the old tree by the river and gives 2 of them to his sister Anna, who thanks him twice. How many apples does he have now?"
  printf '%s\n' '{"id": "s-1", "task": "add", "question": "What is 1 + 2?", "answer": "#### 3"}' \
    "{\"id\": \"s-2\", \"task\": \"add\", \"question\": \"$s2\", \"answer\": \"#### 7\"}" \
    >"$tmp/short.jsonl"
  long=$(printf 'one plus %.0s' $(seq 1 "${ctx:-128}"))
  printf '{"id": "s-1", "task": "add", "question": "1 + 1?", "answer": "#### 2"}\n{"id": "too-long", "task": "add", "question": "%s 1?", "answer": "#### 1"}\n' \
    "$long" >"$tmp/long.jsonl"
  check "eval default --max-new-tokens" 2 "$rlae" eval --models "$zoo/addsub,$zoo/muldiv" --data "$tmp/short.jsonl"
  contains "eval default --max-new-tokens" "--max-new-tokens 128 does not fit member"
  contains "eval default --max-new-tokens" "short.jsonl:2 (id s-2)"
  contains "eval default --max-new-tokens" "use --max-new-tokens"
  n=$(sed -n 's/.*use --max-new-tokens \([0-9]*\) or less.*/\1/p' <<<"$out")
  # The largest value offered works: eval runs (1 problem), and one more does not.
  check "eval the offered --max-new-tokens" 0 "$rlae" eval --model "$zoo/addsub" --data "$tmp/short.jsonl" --per-family 1 --max-new-tokens "${n:-0}"
  check "eval one more than offered" 2 "$rlae" eval --model "$zoo/addsub" --data "$tmp/short.jsonl" --max-new-tokens $(( ${n:-0} + 1 ))
  check "eval prompt longer than the context" 1 "$rlae" eval --model "$zoo/addsub" --data "$tmp/long.jsonl" --max-new-tokens 8
  contains "eval prompt longer than the context" "long.jsonl:2 (id too-long): the prompt has"
  contains "eval prompt longer than the context" "$ctx positions"
  check "train prompt check before decoding" 2 "$rlae" train --members "$zoo/addsub,$zoo/muldiv" --train-data "$tmp/short.jsonl" \
    --out "$tmp/fit" --iterations 1 --threads 1
  contains "train prompt check before decoding" "short.jsonl:2 (id s-2)"
  [ ! -e "$tmp/fit/metrics.jsonl" ] || { echo "FAIL train prompt check: decoded before the check"; fail=1; }
  check "generate default --max-new-tokens" 2 "$rlae" generate --model "$zoo/addsub" --prompt "$s2"
  contains "generate default --max-new-tokens" "use --max-new-tokens"
else
  echo "skip prompt checks: no zoo members at $zoo"
fi
exit $fail
