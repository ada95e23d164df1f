#!/usr/bin/env bash
# One regional centre's mixed day (`echelon bench day`: stock look-ups, two-line urgent parts
# requests over the centre's ten stations, pick, ship, tracking, receive, request / shipment /
# ticket lists, tickets opened, KPI and weekly reports, a settlement CSV) against one and then
# two `serve` processes on a throw-away PostgreSQL, with pgbench's TPC-B-like point measured
# right before each, in the same run. Per operation: count, not-2xx, 5xx, p50, p99. After each
# point: the deadlocks PostgreSQL counted for echelon's database and the audit.
# Needs: PostgreSQL server binaries (/usr/lib/postgresql/*/bin), pgbench, curl, python3.
# Usage: bench/day.sh [seconds per point, default 30]; CLIENTS=n (default 32); PROCS_LIST="1 2";
# POOL=n sets ECHELON_DB_POOL_SIZE (default 8); ECHELON_BIN=path runs another build.
# RATES="25 100 300" adds open-loop points after each closed-loop one: that many operations a
# second started on a schedule (Poisson arrivals, at most CLIENTS in flight), each call's latency
# counted from when it was due, the audit after each. CLOSED=0 skips the closed-loop point.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
clients="${CLIENTS:-32}"
procs_list="${PROCS_LIST:-1 2}"
BENCH_NAME=day source bench/pg.sh
start_pg
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores; PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'); $clients clients, ${secs} s per point"

psql_ -c "CREATE DATABASE pgbench" postgres
pgbench -q -i -s 10 -h 127.0.0.1 -p "$pgport" -U postgres pgbench >/dev/null 2>&1
pgbench_tps() {
  pgbench -h 127.0.0.1 -p "$pgport" -U postgres -c "$clients" -j 2 -T "$secs" -M prepared pgbench 2>/dev/null |
    awk '/^tps/ {print $3; exit}'
}


for procs in $procs_list; do
  db="day$procs"
  psql_ -c "CREATE DATABASE $db" postgres
  url="$pg/$db"
  (cd "$work" && DATABASE_URL="$url" "$bin" seed demo >/dev/null)
  urls=()
  for _ in $(seq 1 "$procs"); do
    port=$(free_port)
    serve "$url" "$port"
    urls+=(--url "http://127.0.0.1:$port")
  done
  base="http://127.0.0.1:$port"
  token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username": "admin", "password": "echelon-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # forty parts the centre holds plenty of, so no request waits on stock
  body=$(curl -fs "$base/api/v1/parts?limit=500&lifecycle=active" -H "Authorization: Bearer $token" | python3 -c '
import json, sys
codes = [p["code"] for p in json.load(sys.stdin)["items"] if not p["serialized"] and not p.get("superseded_by")][:40]
print(json.dumps({"location": "RC-HZ", "reference": "bench", "lines": [{"part_code": c, "qty": 100000} for c in codes]}))')
  curl -fs -X POST "$base/api/v1/receipts" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "$body" >/dev/null
  deadlocks() { psql_ -At -c "SELECT deadlocks FROM pg_stat_database WHERE datname = '$db'" postgres; }
  logged() { grep -c "deadlock detected" "$work/pg.log" || true; }
  if [ "${CLOSED:-1}" = 1 ]; then
    tps=$(pgbench_tps)
    d0=$(deadlocks); l0=$(logged)
    echo "== $procs serve process(es), closed loop; pgbench right before: tps=$tps"
    "$bin" bench day "${urls[@]}" --clients "$clients" --seconds "$secs" | tee "$work/day-$procs.txt"
    d1=$(deadlocks); l1=$(logged)
    python3 - "$tps" "$work/day-$procs.txt" <<'PY'
import re, sys
tps = float(sys.argv[1]); text = open(sys.argv[2]).read()
writes = float(re.search(r"writes ([0-9.]+)/s", text).group(1))
print(f"writes per second / pgbench tps: {writes / tps:.3f}")
PY
    echo "deadlocks in echelon's database during the day: $((d1 - d0)) (pg_stat_database); \"deadlock detected\" in the log: $((l1 - l0))"
    (cd "$work" && DATABASE_URL="$url" "$bin" audit | tail -1)
  fi
  for rate in ${RATES:-}; do
    d0=$(deadlocks); l0=$(logged)
    echo "== $procs serve process(es), open loop at $rate operations/s"
    "$bin" bench day "${urls[@]}" --clients "$clients" --seconds "$secs" --rate "$rate"
    d1=$(deadlocks); l1=$(logged)
    echo "deadlocks: $((d1 - d0)) (pg_stat_database); \"deadlock detected\" in the log: $((l1 - l0))"
    (cd "$work" && DATABASE_URL="$url" "$bin" audit | tail -1)
  done
  stop_pids
  wait 2>/dev/null || true
done
