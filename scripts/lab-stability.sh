#!/usr/bin/env bash
# Runs the whole lab tier RUNS times in a row (default 5) with BUSY busy CPU loops beside it
# (default 2, one per core here), the way a busy CI machine would, and prints one line per run.
# A lab tier that fails here is a defect of the test or of the system, not bad luck.
#   bash scripts/lab-stability.sh [RUNS] [BUSY]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
busy=${2:-2}
source scripts/env.sh
npm run --silent build

loops=()
stop_loops() { ((${#loops[@]} == 0)) || kill "${loops[@]}" 2>/dev/null || true; }
trap stop_loops EXIT
for _ in $(seq 1 "$busy"); do
  # A bounded busy loop: it ends by itself after two hours even if this script is killed.
  timeout 7200 sh -c 'while :; do :; done' &
  loops+=("$!")
done

results=$(mktemp -d)
failed=0
for run in $(seq 1 "$runs"); do
  started=$SECONDS
  if npx jest --selectProjects lab --runInBand --json --outputFile "$results/$run.json" >"$results/$run.log" 2>&1; then verdict=green; else verdict=RED; failed=$((failed + 1)); fi
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e 'const r = require(process.argv[1]); console.log(`run ${process.argv[2]}: ${process.argv[3]}, ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${process.argv[4]} s`)' \
    "$results/$run.json" "$run" "$verdict" "$((SECONDS - started))"
done
echo "logs: $results"
echo "stability: $((runs - failed)) of $runs runs green with $busy busy CPU loops"
((failed == 0))
