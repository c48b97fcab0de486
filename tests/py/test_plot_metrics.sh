#!/usr/bin/env bash
# plot_metrics.py turns metrics.jsonl into PNGs (and rejects a malformed file).
set -u
py=$1; script=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/run"
for i in 1 2 3 4 5; do
  echo "{\"iteration\": $i, \"mean_reward\": 0.$i, \"accuracy\": 0.$i, \"entropy\": 1.$i, \"approx_kl\": 0.01, \"clip_fraction\": 0.1, \"value_loss\": 0.5, \"episodes_per_s\": 3, \"tokens_per_s\": 100, \"policy_lag\": 0}" >> "$tmp/run/metrics.jsonl"
done
"$py" "$script" "$tmp/run" || { echo "1 failed"; exit 1; }
n=$(ls "$tmp/run/plots"/*.png 2>/dev/null | wc -l)
ok=0; fail=0
if [ "$n" -eq 9 ]; then ok=$((ok+1)); else echo "FAIL: $n plots, expected 9"; fail=$((fail+1)); fi
if head -c 8 "$tmp/run/plots/mean_reward.png" | od -c | grep -q "P   N   G"; then ok=$((ok+1)); else echo "FAIL: not a PNG"; fail=$((fail+1)); fi
echo "{bad" >> "$tmp/run/metrics.jsonl"
if "$py" "$script" "$tmp/run" 2>"$tmp/err"; then echo "FAIL: malformed file accepted"; fail=$((fail+1)); 
elif grep -q "metrics.jsonl:6" "$tmp/err"; then ok=$((ok+1)); else echo "FAIL: error does not name the line: $(cat "$tmp/err")"; fail=$((fail+1)); fi
echo "$ok passed, $fail failed"
[ "$fail" -eq 0 ]
