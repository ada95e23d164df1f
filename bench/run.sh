#!/usr/bin/env bash
# Load benchmark of POST /api/v1/parts-requests (reserve + request + ledger rows) against
# pgbench's TPC-B-like ceiling on the same throw-away PostgreSQL, in one run, on 127.0.0.1 only.
# Needs: PostgreSQL server binaries (/usr/lib/postgresql/*/bin), pgbench, wrk, curl, python3.
# Usage: bench/run.sh [seconds per point, default 15]; POOL=n sets ECHELON_DB_POOL_SIZE (default 8);
# ECHELON_BIN=path benchmarks that binary instead of building this checkout
# Cut-down runs while iterating: CLIENTS_LIST="32" PROCS_LIST="1" SQLITE=0 bench/run.sh 5
# PRE_LOAD_SQL='...' runs that SQL on echelon's database before its load (experiments).
# SPREAD=RC-HZ: the requests spread over that centre's stations only (the issue's "one centre's
# ten stations"); ONE_STATION=ST-TZ-001: every request is that station's, posted with its own
# station user's token (its row is what they share). Either raises every tier's credit allowance
# out of reach, so that each request is reserved and routed rather than left pending approval.
# FLOOR=1 (with SPREAD or ONE_STATION): after echelon's points, the same request's SQL statements
# as a pgbench script (bench/request_floor.sh writes it) on a copy of echelon's database, with
# pgbench's TPC-B-like point right before: what PostgreSQL alone gives for these statements,
# the most any service sending them could reach on this machine. FLOOR_CLIENTS="8 32" sets the
# floor's connection counts (echelon's pool holds 8).
# FLOOR_VARIANTS="full no-event one-row minimal": the floor for leaner requests too (the
# statements each takes away: bench/request_floor.sh). HTTP_FLOOR=1: GET /healthz through wrk
# (no token, no database) beside its pgbench point, the HTTP layer's own ceiling.
# PG_STATS=1 loads pg_stat_statements (for pgbench and echelon alike) and prints, per engine,
# the statements per transaction or request.
# WAITS=1 samples pg_stat_activity every 0.1 s during each echelon load and prints what its
# backends were waiting on (wait_event_type:wait_event, or CPU when running), as shares of samples,
# and the WAL written per request (and, beside each pgbench point, per TPC-B-like transaction).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk pgbench curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool (Debian: apt-get install wrk postgresql curl python3)"; exit 2; }
done
secs="${1:-15}"
clients_list="${CLIENTS_LIST:-8 32 64}"
procs_list="${PROCS_LIST:-1 2}"
source bench/pg.sh
pgstats_opt=""
[ "${PG_STATS:-0}" = 1 ] && pgstats_opt="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
start_pg $pgstats_opt
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') (default durability settings)"

stats_reset() { [ "${PG_STATS:-0}" = 1 ] && psql_ -c "SELECT pg_stat_statements_reset()" "$1" >/dev/null || true; }
stats_show() { # stats_show DB: statements per COMMIT, and the top statements by calls
  [ "${PG_STATS:-0}" = 1 ] || return 0
  psql_ -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" "$1" >/dev/null 2>&1 || true
  psql_ -At -F' ' -c "SELECT 'statements per commit:', round(sum(calls)::numeric / nullif(sum(calls) FILTER (WHERE query ILIKE 'commit%' OR query ILIKE 'end%'), 0), 1),
      'plans per commit:', round(sum(plans)::numeric / nullif(sum(calls) FILTER (WHERE query ILIKE 'commit%' OR query ILIKE 'end%'), 0), 1)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$1'" "$1"
  psql_ -c "SELECT calls, plans, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$1' ORDER BY calls DESC LIMIT 30" "$1"
}

cpu_ticks() { # cpu_ticks PIDS...: CPU time (clock ticks, user+system) of these processes and their children
  python3 - "$@" <<'PY'
import os, sys
roots = {int(p) for p in sys.argv[1:] if p}
stats = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # ppid, utime + stime, and for a root what its exited children used (cutime + cstime)
        stats[int(d)] = (int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14]))
print(sum(t + (c if pid in roots else 0) for pid, (ppid, t, c) in stats.items() if pid in roots or ppid in roots))
PY
}
postmaster() { head -1 "$work/pg/postmaster.pid"; }

echo "== pgbench TPC-B-like, scale 10"
psql_ -c "CREATE DATABASE pgbench" postgres
pgbench -q -i -s 10 -h 127.0.0.1 -p "$pgport" -U postgres pgbench >/dev/null 2>&1
[ "${PG_STATS:-0}" = 1 ] && psql_ -c "CREATE EXTENSION pg_stat_statements" pgbench >/dev/null
stats_reset pgbench
pgbench_point() { # pgbench_point CLIENTS: one TPC-B-like point; prints "tps postgres_cpu_ms_per_tx pgbench_cpu_ms_per_tx"
  local p0 p1 tps c
  p0=$(cpu_ticks "$(postmaster)")
  local wal0; wal0=$(psql_ -At -c "SELECT pg_current_wal_lsn()" postgres)
  tps=$(/usr/bin/time -f "CLIENTCPU %U %S" -o "$work/pgbench.cpu" \
        pgbench -h 127.0.0.1 -p "$pgport" -U postgres -c "$1" -j 2 -T "$secs" -M prepared pgbench 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
  p1=$(cpu_ticks "$(postmaster)")
  c=$(awk '/CLIENTCPU/ {print $2 + $3}' "$work/pgbench.cpu")
  if [ "${WAITS:-0}" = 1 ]; then
    python3 -c "print(f'WAL per TPC-B-like transaction: {$(psql_ -At -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')" postgres) / ($tps * $secs):.0f} bytes')" >&2
  fi
  python3 -c "print(f'{$tps:.1f} {1000 * ($p1 - $p0) / $(getconf CLK_TCK) / ($tps * $secs):.2f} {1000 * $c / ($tps * $secs):.2f}')"
}
# the ceiling is measured again right before each echelon point (below), so that a ratio compares
# two figures taken within seconds of each other on this shared, noisy machine
for c in $clients_list; do
  read -r tps pcpu ccpu < <(pgbench_point "$c")
  echo "pgbench clients=$c tps=$tps postgres_cpu_ms_per_tx=$pcpu pgbench_cpu_ms_per_tx=$ccpu"
done
stats_show pgbench


prepare() { # prepare URL PORT: demo network, stock of 40 parts at every centre and HQ
  (cd "$work" && DATABASE_URL="$1" "$bin" seed demo >/dev/null)
  serve "$1" "$2"
  local base="http://127.0.0.1:$2"
  TOKEN=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username": "admin", "password": "echelon-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  export ECHELON_TOKEN="$TOKEN"
  if [ -n "${ONE_STATION:-}${SPREAD:-}" ]; then
    # no allowance in reach: every request is reserved and routed
    python3 - "$base" "$TOKEN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=body and json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
tiers = call("GET", "/api/v1/tiers")
for t in tiers.get("items", tiers) if isinstance(tiers, dict) else tiers:
    body = {k: t[k] for k in ("credit_allowance", "may_order_from_hq", "allocation_priority", "core_return_days", "labour_rates")}
    body["credit_allowance"] = "900000000000.00"
    call("PUT", "/api/v1/tiers/" + t["tier"], body)
PY
  fi
  PARTS=$(curl -fs "$base/api/v1/parts?limit=500&lifecycle=active" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys
items = [p for p in json.load(sys.stdin)["items"] if not p["serialized"] and not p.get("superseded_by")]
print(",".join(p["code"] for p in items[:40]))')
  export ECHELON_PARTS="$PARTS"
  STATIONS=$(curl -fs "$base/api/v1/locations?kind=station&limit=500" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys; print(",".join(l["code"] for l in json.load(sys.stdin)["items"]))')
  export ECHELON_STATIONS="$STATIONS"
  if [ -n "${SPREAD:-}" ]; then
    ECHELON_STATIONS=$(curl -fs "$base/api/v1/locations?kind=station&limit=500" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys
print(",".join(l["code"] for l in json.load(sys.stdin)["items"] if l.get("parent") == sys.argv[1]))' "$SPREAD")
    export ECHELON_STATIONS
  fi
  if [ -n "${ONE_STATION:-}" ]; then
    export ECHELON_STATIONS="$ONE_STATION"
    user="station-$(echo "$ONE_STATION" | tr 'A-Z' 'a-z')"
    ECHELON_TOKEN=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\": \"$user\", \"password\": \"echelon-demo\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    export ECHELON_TOKEN
  fi
  echo "   stations: $ECHELON_STATIONS" | cut -c1-200
  for loc in $(curl -fs "$base/api/v1/locations?limit=500" -H "Authorization: Bearer $TOKEN" | python3 -c '
import json, sys; print(" ".join(l["code"] for l in json.load(sys.stdin)["items"] if l["kind"] in ("central_warehouse", "regional_centre")))'); do
    body=$(python3 -c "import json,sys; print(json.dumps({'location': '$loc', 'reference': 'bench', 'lines': [{'part_code': p, 'qty': 100000} for p in '$PARTS'.split(',')]}))")
    curl -fs -X POST "$base/api/v1/receipts" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$body" >/dev/null
  done
}

load() { # load PORTS... : wrk against each port with CLIENTS/number-of-ports connections; prints the sums
  local n=$#; local per=$((CLIENTS / n)); local outs=()
  local e0 p0; e0=$(cpu_ticks "${pids[@]}"); p0=$(cpu_ticks "$(postmaster)")
  local sampler="" wal0=""
  if [ "${WAITS:-0}" = 1 ]; then
    wal0=$(psql_ -At -c "SELECT pg_current_wal_lsn()" postgres)
    printf '%s\n' "SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()" '\watch 0.1' >"$work/waits.sql"
    psql_ -At -f "$work/waits.sql" "$db" >"$work/waits.out" 2>/dev/null &
    sampler=$!
  fi
  for port in "$@"; do
    out="$work/wrk-$port-$CLIENTS"; outs+=("$out")
    /usr/bin/time -f "CLIENTCPU %U %S" -o "$out.cpu" \
      wrk -t 2 -c "$per" -d "${secs}s" --timeout 10s -s bench/post_request.lua "http://127.0.0.1:$port" >"$out" 2>&1 &
  done
  local wrks; wrks=$(jobs -p | tail -n "$n")
  # shellcheck disable=SC2086
  wait $wrks 2>/dev/null || true
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true
    local walb wal1; wal1=$(psql_ -At -c "SELECT pg_current_wal_lsn()" postgres)
    walb=$(psql_ -At -c "SELECT pg_wal_lsn_diff('$wal1', '$wal0')" postgres)
    # what the WAL holds, by record type (the largest first)
    "$pgbin/pg_waldump" --stats=record -p "$work/pg/pg_wal" -s "$wal0" -e "$wal1" 2>/dev/null |
      awk 'NR > 3 && $1 != "Total" {gsub(/[()]/, " "); $0 = $0; if ($2 > 100) printf "%s n=%s bytes=%s fpi=%s\n", $1, $2, $4, $6}' |
        sort -t= -k3 -n -r | head -16 >&2 || true
    python3 - "$walb" "$work"/wrk-*-"$CLIENTS" <<'PY' >&2
import re, sys
done = sum(int(re.search(r"requests=(\d+)", open(f).read()).group(1)) for f in sys.argv[2:])
print(f"WAL per request: {float(sys.argv[1]) / max(done, 1):.0f} bytes")
PY
    grep -E '^(CPU|[A-Za-z]+:[A-Za-z0-9_]+)$' "$work/waits.out" | sort | uniq -c | sort -rn | awk '{n[NR]=$1; w[NR]=$2; t+=$1} END {for (i=1;i<=NR&&i<=8;i++) printf "%s %.1f%%, ", w[i], 100*n[i]/t; print ""}' >&2
  fi
  local e1 p1; e1=$(cpu_ticks "${pids[@]}"); p1=$(cpu_ticks "$(postmaster)")
  python3 - "$((e1 - e0))" "$((p1 - p0))" "$(getconf CLK_TCK)" "${outs[@]}" <<'PY'
import re, sys
echelon_ticks, postgres_ticks, hz = (int(a) for a in sys.argv[1:4])
rows = []
for f in sys.argv[4:]:
    m = re.search(r"RESULT (.*)", open(f).read())
    rows.append(dict(kv.split("=") for kv in m.group(1).split()))
rps = sum(float(r["rps"]) for r in rows)
worst = lambda k: max(float(r[k]) for r in rows)
done = sum(int(r["requests"]) for r in rows)
cpu = lambda t: 1000.0 * t / hz / max(done, 1)
# the load generator's own CPU (wrk and its Lua), from /usr/bin/time
client_s = sum(float(a) + float(b) for f in sys.argv[4:] for a, b in re.findall(r"CLIENTCPU ([\d.]+) ([\d.]+)", open(f + ".cpu").read()))
print(f"{rps:.1f} {worst('p50_ms'):.2f} {worst('p95_ms'):.2f} {worst('p99_ms'):.2f} {sum(int(r['errors']) for r in rows)} "
      f"{cpu(echelon_ticks):.2f} {cpu(postgres_ticks):.2f} {1000.0 * client_s / max(done, 1):.2f}")
PY
}

audit() { (cd "$work" && DATABASE_URL="$1" "$bin" audit | tail -1); }

oversold() { # units promised beyond stock: reserved > on_hand anywhere (the CHECK forbids it; counted anyway)
  psql_ -At -c "SELECT COALESCE(SUM(GREATEST(reserved - on_hand, 0)), 0) FROM stock_balances WHERE physical" "$1"
}

echo
echo "== echelon on PostgreSQL: POST /api/v1/parts-requests"
echo "(pgbench_tps: the TPC-B-like point just before; *_cpu: CPU ms per request of echelon and of PostgreSQL)"
printf "%-10s %-8s %-10s %-8s %-8s %-8s %-10s %-8s %-7s %-10s %-10s %-10s %s\n" processes clients req/s p50_ms p95_ms p99_ms pgbench_tps vs_pgbench errors echelon_cpu postgres_cpu wrk_cpu "pgbench_tx_cpu(postgres+pgbench)"
for procs in $procs_list; do
  db="echelon_$procs"
  psql_ -c "CREATE DATABASE $db" postgres
  p1=$(free_port); prepare "$pg/$db" "$p1"; ports=("$p1")
  if [ "$procs" = 2 ]; then p2=$(free_port); serve "$pg/$db" "$p2"; ports+=("$p2"); fi
  [ "${PG_STATS:-0}" = 1 ] && psql_ -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" "$db" >/dev/null
  # an experiment's schema change before the load (say, an index dropped), when given
  [ -n "${PRE_LOAD_SQL:-}" ] && psql_ -c "$PRE_LOAD_SQL" "$db"
  stats_reset "$db"
  for c in $clients_list; do
    CLIENTS=$c
    read -r tps tpcpu tccpu < <(pgbench_point "$c")
    read -r rps p50 p95 p99 errors ecpu pcpu wcpu < <(load "${ports[@]}")
    ratio=$(python3 -c "print(f'{$rps / $tps:.2f}')")
    printf "%-10s %-8s %-10s %-8s %-8s %-8s %-10s %-8s %-7s %-10s %-10s %-10s %s\n" "$procs" "$c" "$rps" "$p50" "$p95" "$p99" "$tps" "$ratio" "$errors" "$ecpu" "$pcpu" "$wcpu" "$tpcpu+$tccpu"
  done
  echo "   oversold units: $(oversold "$db"); $(audit "$pg/$db")"
  # how many requests were written in one round trip (the station as the process kept it)
  for port in "${ports[@]}"; do
    echo "   port $port: $(curl -fs "http://127.0.0.1:$port/metrics" | grep -E '^echelon_parts_requests_one_round_trip_total' || echo 'no one-round-trip count'), of $(curl -fs "http://127.0.0.1:$port/metrics" | grep -E '^echelon_http_requests_total\{method="POST",route="/api/v1/parts-requests",status="201"\}' | awk '{print $2}') answered 201"
  done
  stats_show "$db"
  # HTTP_FLOOR=1: the HTTP layer alone, GET /healthz (no token, no database) through the same
  # wrk at the last client count, beside its own pgbench point: what no request can beat here
  if [ "${HTTP_FLOOR:-0}" = 1 ]; then
    read -r tps _ < <(pgbench_point "$CLIENTS")
    e0=$(cpu_ticks "${pids[@]}")
    wrk -t 2 -c "$CLIENTS" -d "${secs}s" "http://127.0.0.1:$p1/healthz" >"$work/wrk-healthz" 2>&1
    e1=$(cpu_ticks "${pids[@]}")
    hrps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-healthz")
    python3 -c "print(f'   HTTP floor (GET /healthz, wrk {$CLIENTS} connections) req/s={$hrps:.1f} pgbench_tps(clients=$CLIENTS)=$tps ratio={$hrps / $tps:.2f} echelon_cpu_ms={1000 * ($e1 - $e0) / $(getconf CLK_TCK) / ($hrps * $secs):.3f}')"
  fi
  stop_pids
  sleep 1
  if [ "${FLOOR:-0}" = 1 ] && [ -n "${ONE_STATION:-}${SPREAD:-}" ]; then
    psql_ -c "CREATE DATABASE floor_$procs TEMPLATE $db" postgres
    source bench/request_floor.sh
    # FLOOR_VARIANTS: the request's statements as sent ("full", the default) and leaner sets
    # (bench/request_floor.sh names them); FLOOR_CLIENTS: pgbench's connections for the floor
    # (say "8 32": echelon's pool holds 8), each beside the TPC-B-like point at the load's own
    # client count
    for variant in ${FLOOR_VARIANTS:-full}; do
    script="$work/floor-$variant.sql"
    request_floor_script "floor_$procs" "$variant" >"$script"
    for fc in ${FLOOR_CLIENTS:-$clients_list}; do
      c=$CLIENTS
      read -r tps _ < <(pgbench_point "$c")
      p0=$(cpu_ticks "$(postmaster)")
      r0=$(psql_ -At -c "SELECT COUNT(*) FROM parts_requests" "floor_$procs")
      ftps=$(pgbench -h 127.0.0.1 -p "$pgport" -U postgres -c "$fc" -j 2 -T "$secs" -M prepared -n -f "$script" "floor_$procs" 2>"$work/floor.err" \
             | awk '/^tps/ {print $3; exit}' || true)
      p1=$(cpu_ticks "$(postmaster)")
      r1=$(psql_ -At -c "SELECT COUNT(*) FROM parts_requests" "floor_$procs")
      [ -n "$ftps" ] || { echo "floor script failed:"; tail -5 "$work/floor.err"; head -12 "$script"; exit 1; }
      python3 -c "print(f'   floor ($variant: the request\'s statements in pgbench) connections=$fc tps={$ftps:.1f} pgbench_tps(clients=$c)=$tps ratio={$ftps / $tps:.2f} postgres_cpu_ms={1000 * ($p1 - $p0) / $(getconf CLK_TCK) / ($ftps * $secs):.2f} requests_written_per_transaction={($r1 - $r0) / ($ftps * $secs):.2f}')"
    done
    done
    echo "   floor database: oversold units: $(oversold "floor_$procs"); $(audit "$pg/floor_$procs")"
  fi
done

[ "${SQLITE:-1}" = 1 ] || { echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; exit 0; }
echo
echo "== echelon on SQLite (one process): POST /api/v1/parts-requests"
printf "%-10s %-8s %-10s %-8s %-8s %-8s %-7s %-10s\n" processes clients req/s p50_ms p95_ms p99_ms errors echelon_cpu
p1=$(free_port); prepare "sqlite://$work/bench.db" "$p1"
for c in $clients_list; do
  CLIENTS=$c
  read -r rps p50 p95 p99 errors ecpu _ < <(load "$p1")
  printf "%-10s %-8s %-10s %-8s %-8s %-8s %-7s %-10s\n" 1 "$c" "$rps" "$p50" "$p95" "$p99" "$errors" "$ecpu"
done
echo "   $(audit "sqlite://$work/bench.db")"
echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"
