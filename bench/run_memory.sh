#!/usr/bin/env bash
# The server's memory around one planning run through the API: resident set size before the
# run, the peak during it, and after it (after a pause, what the process keeps). Run against a
# generated database (`echelon seed generate --stations 1500 --parts 10000 --seed 1`):
#   DATABASE_URL=sqlite:///tmp/gen.db bash bench/run_memory.sh
set -euo pipefail
bin="${ECHELON_BIN:-$PWD/target/release/echelon}"
: "${DATABASE_URL:?set DATABASE_URL to a generated database}"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
password="memory-bench-password"
"$bin" user add --username memory-bench --role admin --display-name "Memory benchmark" <<<"$password" \
  >/dev/null 2>&1 || true
(cd "$work" && ECHELON_BIND="127.0.0.1:$port" ECHELON_LOG=warn exec "$bin" serve >"$work/serve.log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
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
