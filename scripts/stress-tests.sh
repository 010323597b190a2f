#!/usr/bin/env bash
# The suite under load, as issue 9 asks: N times (default 3) `pnpm test` and then
# `pnpm turbo test` (turbo's default parallelism), with two CPU-bound processes
# running beside them the whole time. Logs go to $TMPDIR/esm2-stress-*.log.
# Run it in a fresh clone after `pnpm install --frozen-lockfile`.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
logs=${TMPDIR:-/tmp}
node -e 'for(;;){}' & a=$!
node -e 'for(;;){}' & b=$!
trap 'kill $a $b 2>/dev/null' EXIT
status=0
for i in $(seq 1 "$runs"); do
  for cmd in "pnpm test" "pnpm turbo test"; do
    log="$logs/esm2-stress-$i-${cmd// /-}.log"
    s=$(date +%s); $cmd > "$log" 2>&1; r=$?
    passed=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\S+:test: +Tests +' | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
    echo "$cmd, run $i: exit $r in $(( $(date +%s) - s )) s, $passed tests passed ($log)"
    [ "$r" = 0 ] || status=1
  done
done
exit "$status"
