#!/usr/bin/env bash
# make gate-trust: can the compare gate be trusted on this machine?
# Ten trials; each runs the same scenario three times (base, A, B; five
# repeats each, different seeds), where B's fake server is 20% slower.
#   A/A: grpcbench compare base A must pass     (a failure is a false alarm)
#   A/B: grpcbench compare base B must fail (1) (a failure is a detection)
# Goal: 0/10 false alarms, 10/10 detections.
set -euo pipefail
BIN=${BIN:-bin/grpcbench}
TRIALS=${TRIALS:-10}
GATES=(--gate p50=+10% --gate p90=+10%)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sc=scripts/gate-trust.yaml
slow='server.faults=[{latency: {dist: lognormal, median: 6ms, p99: 24ms}}]'
false_alarms=0 detections=0 other=0
start=$(date +%s)
for i in $(seq 1 "$TRIALS"); do
  "$BIN" run -q "$sc" -o "$dir/base.json" --set seed=$((i * 3)) > /dev/null
  "$BIN" run -q "$sc" -o "$dir/a.json" --set seed=$((i * 3 + 1)) > /dev/null
  "$BIN" run -q "$sc" -o "$dir/b.json" --set seed=$((i * 3 + 2)) --set "$slow" > /dev/null
  aa=0; "$BIN" compare "$dir/base.json" "$dir/a.json" "${GATES[@]}" > "$dir/aa.txt" || aa=$?
  ab=0; "$BIN" compare "$dir/base.json" "$dir/b.json" "${GATES[@]}" > "$dir/ab.txt" || ab=$?
  case $aa in 0) ;; 1) false_alarms=$((false_alarms + 1)); echo "trial $i: A/A false alarm:"; cat "$dir/aa.txt" ;; *) other=$((other + 1)) ;; esac
  case $ab in 1) detections=$((detections + 1)) ;; 0) echo "trial $i: A/B missed:"; cat "$dir/ab.txt" ;; *) other=$((other + 1)) ;; esac
  echo "trial $i/$TRIALS: A/A exit $aa, A/B exit $ab ($(( $(date +%s) - start ))s)"
done
echo "gate-trust: false alarms $false_alarms/$TRIALS (A/A), detections $detections/$TRIALS (A/B, +20% latency), errors $other, $(( $(date +%s) - start ))s"
[ "$false_alarms" -eq 0 ] && [ "$detections" -eq "$TRIALS" ] && [ "$other" -eq 0 ]
