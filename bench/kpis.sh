#!/usr/bin/env bash
# The KPI benchmark (issue 13): times GET /api/v1/reports/kpis for a year and for a month at
# every level, and the weekly history, through HTTP against the database in DATABASE_URL
# (a generated network with its history: `echelon seed generate` then `echelon seed history`).
#
#   DATABASE_URL=postgres://... bench/kpis.sh [runs]
#
# For each URL: "cold" is the first request after PG_RESTART (a command that restarts the
# PostgreSQL server, emptying its shared buffers; the OS page cache is left alone), when given;
# else the first request of the run. "warm" is the median of the next `runs` (default 5).
# Prints one line per URL: seconds cold, warm median, warm min, and the groups returned.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
bin="${ECHELON_BIN:-$PWD/target/release/echelon}"
: "${DATABASE_URL:?set DATABASE_URL to the generated database}"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
password="kpi-bench-password"
# a bench admin, added on the first run (a benchmark database only)
"$bin" user add --username kpi-bench --role admin --display-name "KPI benchmark" <<<"$password" \
  >/dev/null 2>&1 || true
start_server() {
  (cd "$work" && ECHELON_BIND="127.0.0.1:$port" ECHELON_LOG=warn exec "$bin" serve >"$work/serve.log" 2>&1) &
  server=$!
  for _ in $(seq 1 300); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$work/serve.log"
  return 1
}
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$work"' EXIT
start_server
token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\": \"kpi-bench\", \"password\": \"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
get() { # prints seconds and the number of groups (or weeks)
  curl -fs -o "$work/body" -w '%{time_total}' -H "Authorization: Bearer $token" "$base$1"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("", len(d.get("groups", d.get("weeks", []))))' "$work/body"
}
to=$(date -u +%F)
year=$(date -u -d "$to -364 days" +%F)
month=$(date -u -d "$to -29 days" +%F)
urls=()
for level in network centre station tier; do
  urls+=("/api/v1/reports/kpis?level=$level&from=$year&to=$to")
  urls+=("/api/v1/reports/kpis?level=$level&from=$month&to=$to")
done
urls+=("/api/v1/reports/kpis/history?weeks=12" "/api/v1/reports/kpis/history?weeks=52")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-80s %8s %8s %8s %7s\n' url cold warm min groups
for u in "${urls[@]}"; do
  if [ -n "${PG_RESTART:-}" ]; then
    stop_server
    bash -c "$PG_RESTART" >/dev/null
    start_server
  fi
  read -r cold groups < <(get "$u")
  times=()
  for _ in $(seq 1 "$runs"); do
    read -r t _ < <(get "$u")
    times+=("$t")
  done
  stats=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f", a[int((NR+1)/2)], a[1]}')
  printf '%-80s %8.3f %8s %8s %7s\n' "$u" "$cold" ${stats} "$groups"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
