#!/usr/bin/env bash
# The ledger over years (issue 26 item 6): a parts request, `echelon audit` and the KPI report on
# a generated network with 1x, 10x and 100x its generated year's stock movements, on a throw-away
# PostgreSQL (bench/pg.sh), the movements partitioned by month; at the largest scale once more
# after archiving every month before the generated year (`echelon archive movements`).
#
#   bench/ledger_years.sh            # STATIONS=15 PARTS=2000 SCALES="1 10 100" WRK_SECS=10
#
# Each scale is its own database: `echelon seed generate`, then (for k > 1) (k-1) x the year's
# movements back-dated into the years before it, then `echelon seed history --days 365` (its
# year; it rebuilds the KPI rollups from every movement, so the audit checks the extra rows
# too). The extra rows are pairs that cancel: the same part and quantity moved from one stock
# location to another and back at the same instant (`transfer_ship`, reference 'generated
# years'), so every balance, every day's stock value and the audit stay as they were; their
# parts and locations are spread over the network's stock locations and parts, their times
# evenly over YEARS10 (10x) or YEARS100 (100x) years before the generated year (a network that
# grew: the older months are denser than the generated year's at 100x).
# Prints per scale: the movements, the database's and the live movements' size on disk, the KPI
# report (network, a year and a month: cold = first request after the server started, warm =
# median of 3), POST /parts-requests under wrk (4 connections, WRK_SECS s: requests/s, p50, p99;
# a probe of 5 requests first shows what they answer), then `echelon audit`'s time on the
# result (it must be clean), then drops the database.
set -euo pipefail
cd "$(dirname "$0")/.."
stations="${STATIONS:-15}"
parts="${PARTS:-2000}"
scales="${SCALES:-1 10 100}"
wrk_secs="${WRK_SECS:-10}"
years10="${YEARS10:-3}"
years100="${YEARS100:-9}"
BENCH_NAME=ledger-years
source bench/pg.sh
start_pg -c max_wal_size=1GB -c checkpoint_timeout=30min
echo "machine: $(nproc) cores (shared), $(free -g | awk '/Mem/ {print $2}') GiB; PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'); network: --stations $stations --parts $parts --seed 1"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
port=$(free_port)
base="http://127.0.0.1:$port"
password="ledger-bench-password"

secs_of() { local t0=$1; python3 -c "import time; print(f'{time.time() - $t0:.1f}')"; }
now_s() { python3 -c 'import time; print(time.time())'; }

measure() { # measure LABEL DB
  local label=$1 db=$2 url="$pg/$2"
  psql_ -d "$db" -c 'VACUUM ANALYZE' >/dev/null
  local rows size msize parts_n
  rows=$(psql_ -At -d "$db" -c "SELECT count(*) FROM stock_movements")
  parts_n=$(psql_ -At -d "$db" -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'stock_movements'::regclass")
  size=$(psql_ -At -d "$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
  msize=$(psql_ -At -d "$db" -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('stock_movements')")
  local archived
  archived=$(psql_ -At -d "$db" -c "SELECT COALESCE(sum(movements), 0) || ' in ' || count(*) || ' tables' FROM movement_archives")
  local t0
  # the server, a bench admin, and what to request
  DATABASE_URL="$url" "$bin" user add --username ledger-bench --role admin --display-name "Ledger bench" \
    <<<"$password" >/dev/null 2>&1 || true
  (cd "$work" && DATABASE_URL="$url" ECHELON_BIND="127.0.0.1:$port" ECHELON_LOG=warn exec "$bin" serve \
     >"$work/serve.log" 2>&1) &
  local server=$!
  for _ in $(seq 1 300); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  local token
  token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\": \"ledger-bench\", \"password\": \"$password\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  get() { curl -fs -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$base$1"; }
  local to year month kpi=""
  to=$(date -u +%F); year=$(date -u -d "$to -364 days" +%F); month=$(date -u -d "$to -29 days" +%F)
  for span in "$year" "$month"; do
    local u="/api/v1/reports/kpis?level=network&from=$span&to=$to" cold ts=()
    cold=$(get "$u")
    for _ in 1 2 3; do ts+=("$(get "$u")"); done
    kpi+=" $(printf '%.3f/%.3f' "$cold" "$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p)")"
  done
  # the newest page of movements (every live partition's index is read for it)
  local mv cold ts=()
  cold=$(get "/api/v1/movements")
  for _ in 1 2 3; do ts+=("$(get "/api/v1/movements")"); done
  mv=$(printf '%.3f/%.3f' "$cold" "$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p)")
  export ECHELON_TOKEN="$token"
  ECHELON_STATIONS=$(psql_ -At -d "$db" -c "SELECT string_agg(code, ',') FROM (SELECT code FROM locations WHERE kind = 'station' ORDER BY id LIMIT 30) s")
  ECHELON_PARTS=$(psql_ -At -d "$db" -c "SELECT string_agg(code, ',') FROM (SELECT p.code FROM stock_balances b JOIN parts p ON p.id = b.part_id JOIN locations l ON l.id = b.location_id WHERE l.kind IN ('central_warehouse', 'regional_centre') AND b.on_hand - b.reserved > 0 GROUP BY p.code ORDER BY sum(b.on_hand - b.reserved) DESC, p.code LIMIT 50) s")
  export ECHELON_STATIONS ECHELON_PARTS
  # what a request answers here (a non-201 is counted as an error by the wrk script)
  local codes
  codes=$(for s in $(echo "$ECHELON_STATIONS" | tr ',' ' ' | cut -d' ' -f1-5); do
    curl -s -o "$work/req.json" -w '%{http_code}\n' -X POST "$base/api/v1/parts-requests" \
      -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"station\": \"$s\", \"lines\": [{\"part_code\": \"${ECHELON_PARTS%%,*}\", \"qty\": 1}]}"
  done | sort | uniq -c | tr '\n' ' ')
  echo "  probe of 5 requests: $codes; the last: $(head -c 120 "$work/req.json")"
  local req
  req=$(wrk -t 2 -c 4 -d "${wrk_secs}s" --timeout 10s -s bench/post_request.lua "$base" | grep '^RESULT' |
    sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p95_ms=[0-9.]+ p99_ms=([0-9.]+) errors=([0-9]+).*/\1 req\/s p50 \2 ms p99 \3 ms errors \4/')
  kill "$server"; wait "$server" 2>/dev/null || true
  local audit_after
  t0=$(now_s)
  DATABASE_URL="$url" "$bin" audit >"$work/audit.out" || { cat "$work/audit.out"; exit 1; }
  audit_after=$(secs_of "$t0")
  printf '%-14s movements %10s (archived %s) partitions %4s | db %8s movements %8s | audit %6ss (clean) | request %s | KPI year cold/warm %s month %s | movements page %s | load %s\n' \
    "$label" "$rows" "$archived" "$parts_n" "$size" "$msize" "$audit_after" "$req" ${kpi} "$mv" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

year_rows=""
for k in $scales; do
  db="ly$k"
  psql_ -c "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="$pg/$db"
  "$bin" seed generate --stations "$stations" --parts "$parts" --seed 1 >/dev/null
  t0=$(now_s)
  if [ "$k" -gt 1 ]; then
    : "${year_rows:?run scale 1 first: it counts the generated year}"
    years=$([ "$k" -ge 100 ] && echo "$years100" || echo "$years10")
    extra=$(( (k - 1) * year_rows / 2 * 2 ))
    psql_ -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT echelon_movement_partition(CAST(m AS DATE)) FROM generate_series(
  date_trunc('month', now() - INTERVAL '365 days' - INTERVAL '$years years'), now(), INTERVAL '1 month') m;
CREATE TEMP TABLE lp AS SELECT array_agg(id ORDER BY id) AS a, count(*) AS n FROM parts;
CREATE TEMP TABLE ll AS SELECT array_agg(id ORDER BY id) AS a, count(*) AS n FROM locations
  WHERE kind IN ('central_warehouse', 'regional_centre', 'station');
INSERT INTO stock_movements (part_id, qty, from_location_id, to_location_id, reason, reference, actor, at)
SELECT lp.a[1 + h % lp.n], 1 + h % 3,
       CASE WHEN g % 2 = 0 THEN ll.a[1 + x] ELSE ll.a[1 + y] END,
       CASE WHEN g % 2 = 0 THEN ll.a[1 + y] ELSE ll.a[1 + x] END,
       'transfer_ship', 'generated years', 'bench',
       now() - INTERVAL '366 days' - (INTERVAL '$years years') * (b::float8 / ($extra / 2))
FROM generate_series(0, $extra - 1) g
CROSS JOIN LATERAL (SELECT g / 2 AS b) bb
CROSS JOIN LATERAL (SELECT (bb.b * 2654435761) % 4294967291 AS h) hh
CROSS JOIN lp CROSS JOIN ll
CROSS JOIN LATERAL (SELECT hh.h % ll.n AS x) xx
CROSS JOIN LATERAL (SELECT (xx.x + 1 + (hh.h / ll.n) % (ll.n - 1)) % ll.n AS y) yy;
SQL
  fi
  gen_s=$(secs_of "$t0")
  t0=$(now_s)
  "$bin" seed history --days 365 --seed 1 >"$work/history.out"
  hist_s=$(secs_of "$t0")
  if [ "$k" = 1 ]; then
    year_rows=$(psql_ -At -d "$db" -c "SELECT count(*) FROM stock_movements")
  fi
  echo "scale ${k}x: back-dated pairs written in ${gen_s}s, seed history in ${hist_s}s ($(cat "$work/history.out" | tail -1))"
  measure "${k}x" "$db"
  if [ "$k" -ge "${ARCHIVE_AT:-100}" ]; then
    # every month before the generated year: its settlement period closed (the first close
    # may be any ended month), then archived
    cut=$(date -u -d "$(date -u +%F) -365 days" +%Y-%m)
    last=$(date -u -d "${cut}-01 -1 day" +%Y-%m)
    (cd "$work" && DATABASE_URL="$pg/$db" ECHELON_BIND="127.0.0.1:$port" ECHELON_LOG=warn exec "$bin" serve \
       >"$work/serve.log" 2>&1) &
    server=$!
    for _ in $(seq 1 300); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
    token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\": \"ledger-bench\", \"password\": \"$password\"}" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    curl -fs -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' -d '{}' \
      "$base/api/v1/periods/$last/close" >/dev/null
    kill "$server"; wait "$server" 2>/dev/null || true
    t0=$(now_s)
    "$bin" archive movements --before "$cut" | tail -2
    echo "archive --before $cut: $(secs_of "$t0")s"
    measure "${k}x archived" "$db"
  fi
  psql_ -c "DROP DATABASE $db" >/dev/null
done
