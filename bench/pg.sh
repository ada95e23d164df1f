# Sourced by the benchmarks: the binary to run (ECHELON_BIN, or this checkout's release build),
# a scratch folder, and a throw-away PostgreSQL cluster on a free port of 127.0.0.1, stopped and
# removed on exit with every process started into `pids` (`serve URL PORT` starts echelon). `start_pg [options]` starts it
# (extra server options) and sets `pg` (the server's URL) and `pgport`; `psql_` runs psql on it.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
# ECHELON_BIN=path runs another build (say, of an older commit) through the same points
if [ -n "${ECHELON_BIN:-}" ]; then bin="$ECHELON_BIN"; else cargo build --release -q; bin="$PWD/target/release/echelon"; fi
work=$(mktemp -d "/tmp/echelon-${BENCH_NAME:-bench}-XXXX")
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
stop_pids() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=(); }
cleanup() {
  stop_pids
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$work"
start_pg() {
  pgport=$(free_port)
  as_pg "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB $*" start >/dev/null
  pg="postgres://postgres@127.0.0.1:$pgport"
}
psql_() { psql -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
serve() { # serve URL PORT: echelon on the database at URL, in the background, until it is ready
  (cd "$work" && DATABASE_URL="$1" ECHELON_BIND="127.0.0.1:$2" ECHELON_LOG=warn ECHELON_DB_POOL_SIZE="${POOL:-8}" \
     exec "$bin" serve >"$work/serve-$2.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "echelon did not start"; cat "$work/serve-$2.log"; exit 1
}
