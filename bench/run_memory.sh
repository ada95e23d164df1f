#!/usr/bin/env bash
# The server's memory around one planning run through the API: resident set size before the
# run, the peak during it, and after it (after a pause, what the process keeps). Run against a
# generated database (`echelon seed generate --stations 1500 --parts 10000 --seed 1`):
#   DATABASE_URL=sqlite:///tmp/gen.db bash bench/run_memory.sh
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL to a generated database}"
BENCH_NAME=memory source "$(dirname "$0")/pg.sh"
port=$(free_port)
base="http://127.0.0.1:$port"
password="memory-bench-password"
# a bench admin, added on the first run (a benchmark database only)
"$bin" user add --username memory-bench --role admin --display-name "Memory benchmark" <<<"$password" \
  >/dev/null 2>&1 || true
serve "$DATABASE_URL" "$port"
server=${pids[-1]}
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$server/status"; }
hwm() { awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$server/status"; }
token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\": \"memory-bench\", \"password\": \"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
echo "before the run: $(rss) MB resident"
start=$(date +%s.%N)
curl -fs -o "$work/run.json" -X POST "$base/api/v1/planning/runs" -H "Authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"target_fill": 0.98}'
echo "run: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s; peak $(hwm) MB resident"
sleep 2
echo "after the run: $(rss) MB resident"
