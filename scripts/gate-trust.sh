#!/usr/bin/env bash
# make gate-trust: can the compare gate be trusted on this machine?
# TRIALS trials (default 10) of three experiments, each run of REPEATS
# repeats (default 5) of one cell:
#   (a) A/A quiet: the same scenario twice (fake server lognormal, median
#       5ms, p99 20ms). compare must pass: exit 1 is a false alarm.
#   (b) A/B tail-only +20%: the new run's server has the same median and a
#       p99 20% higher (24ms); gates p50=+10% and p99=+10%. compare must
#       fail (exit 1) on p99: a detection; p50 should stay ok.
#   (c) A/A starved: a fast service (no latency fault, open model FAST_RATE
#       calls/s); the new run of the same build runs while nproc
#       CPU-burning processes occupy every core (started and stopped here,
#       bounded by timeout). compare must never say regression (exit 1);
#       it may say inconclusive (exit 4) with the starvation reason, or ok.
# Goal: (a) 0 false alarms, (b) TRIALS detections, (c) 0 regressions.
# Quick check: TRIALS=2 DURATION=1s make gate-trust.
set -euo pipefail
BIN=${BIN:-bin/grpcbench}
TRIALS=${TRIALS:-10}
REPEATS=${REPEATS:-5}
DURATION=${DURATION:-4s}
RATE=${RATE:-1000}
FAST_RATE=${FAST_RATE:-5000}
GATES=(--gate p50=+10% --gate p99=+10%)
sc=scripts/gate-trust.yaml
tail='server.faults=[{latency: {dist: lognormal, median: 5ms, p99: 24ms}}]'
common=(--set "repeat=$REPEATS" --set "load.duration=$DURATION" --set "load.rate=$RATE")
fast=(--set "repeat=$REPEATS" --set "load.duration=$DURATION" --set "load.rate=$FAST_RATE" --set 'server.faults=[]')

dir=$(mktemp -d)
hogs=()
stop_hogs() {
  if [ ${#hogs[@]} -gt 0 ]; then
    kill "${hogs[@]}" 2> /dev/null || true
    wait "${hogs[@]}" 2> /dev/null || true
  fi
  hogs=()
}
trap 'stop_hogs; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

# start_hogs starts one busy loop per core, each ended by timeout after
# $1 seconds at the latest (and by stop_hogs before).
start_hogs() {
  for _ in $(seq 1 "$(nproc)"); do
    timeout "$1" sh -c 'while :; do :; done' &
    hogs+=($!)
  done
}

# The hogs' bound: stop_hogs ends them when the starved run ends; timeout
# ends them even if this script is killed with SIGKILL.
hog_secs=${HOG_SECS:-300}

aa_alarm=0 aa_inconc=0 ab_hit=0 ab_p50=0 c_reg=0 c_inconc=0 c_reason=0 c_ok=0 errors=0
start=$(date +%s)
for i in $(seq 1 "$TRIALS"); do
  # (a) and (b)
  "$BIN" run -q "$sc" -o "$dir/base.json" --set seed=$((i * 5)) "${common[@]}" > /dev/null
  "$BIN" run -q "$sc" -o "$dir/a.json" --set seed=$((i * 5 + 1)) "${common[@]}" > /dev/null
  "$BIN" run -q "$sc" -o "$dir/b.json" --set seed=$((i * 5 + 2)) "${common[@]}" --set "$tail" > /dev/null
  aa=0; "$BIN" compare "$dir/base.json" "$dir/a.json" "${GATES[@]}" > "$dir/aa.txt" 2>&1 || aa=$?
  ab=0; "$BIN" compare "$dir/base.json" "$dir/b.json" "${GATES[@]}" > "$dir/ab.txt" 2>&1 || ab=$?
  case $aa in
    0) ;;
    1) aa_alarm=$((aa_alarm + 1)); echo "trial $i: (a) A/A false alarm:"; cat "$dir/aa.txt" ;;
    4) aa_inconc=$((aa_inconc + 1)); echo "trial $i: (a) A/A inconclusive:"; cat "$dir/aa.txt" ;;
    *) errors=$((errors + 1)); echo "trial $i: (a) exit $aa:"; cat "$dir/aa.txt" ;;
  esac
  if grep -Eq '^\S+ +p50=\+10% .*(REGRESSION|INCONCLUSIVE)' "$dir/ab.txt"; then ab_p50=$((ab_p50 + 1)); fi
  case $ab in
    1) if grep -Eq '^\S+ +p99=\+10% .*REGRESSION' "$dir/ab.txt"; then ab_hit=$((ab_hit + 1)); else echo "trial $i: (b) failed, not on p99:"; cat "$dir/ab.txt"; fi ;;
    0 | 4) echo "trial $i: (b) A/B missed (exit $ab):"; cat "$dir/ab.txt" ;;
    *) errors=$((errors + 1)); echo "trial $i: (b) exit $ab:"; cat "$dir/ab.txt" ;;
  esac

  # (c) the new run on a CPU-starved machine
  "$BIN" run -q "$sc" -o "$dir/cbase.json" --set seed=$((i * 5 + 3)) "${fast[@]}" > /dev/null
  start_hogs "$hog_secs"
  "$BIN" run -q "$sc" -o "$dir/cnew.json" --set seed=$((i * 5 + 4)) "${fast[@]}" > /dev/null || true
  stop_hogs
  cc=0; "$BIN" compare "$dir/cbase.json" "$dir/cnew.json" "${GATES[@]}" > "$dir/cc.txt" 2>&1 || cc=$?
  case $cc in
    0) c_ok=$((c_ok + 1)) ;;
    1) c_reg=$((c_reg + 1)); echo "trial $i: (c) starved A/A reported as a regression:"; cat "$dir/cc.txt" ;;
    4) c_inconc=$((c_inconc + 1))
       if grep -q "new run's load generator was CPU-starved" "$dir/cc.txt"; then c_reason=$((c_reason + 1)); fi
       [ "$i" -eq 1 ] && { echo "trial $i: (c) inconclusive, as reported:"; cat "$dir/cc.txt"; } ;;
    *) errors=$((errors + 1)); echo "trial $i: (c) exit $cc:"; cat "$dir/cc.txt" ;;
  esac
  echo "trial $i/$TRIALS: (a) exit $aa, (b) exit $ab, (c) exit $cc ($(( $(date +%s) - start ))s)"
done
echo "gate-trust: $TRIALS trials, $REPEATS+$REPEATS repeats of $DURATION, $(( $(date +%s) - start ))s"
echo "  (a) A/A quiet:                false alarms $aa_alarm/$TRIALS, inconclusive $aa_inconc/$TRIALS"
echo "  (b) A/B p99 +20%, p50 same:   detections $ab_hit/$TRIALS (p50 flagged in $ab_p50)"
echo "  (c) A/A, new run CPU-starved: regressions $c_reg/$TRIALS, inconclusive $c_inconc/$TRIALS ($c_reason with the starvation reason), ok $c_ok/$TRIALS"
echo "  errors: $errors"
[ "$aa_alarm" -eq 0 ] && [ "$ab_hit" -eq "$TRIALS" ] && [ "$c_reg" -eq 0 ] && [ "$errors" -eq 0 ]
