# Sourced by the CI scripts that need a running echelon: `serve_demo` starts the binary named
# by ECHELON_FUZZ_BIN (the one `cargo test` built, so no second build; else it builds one) on a
# free port with a fresh demo database in its own folder, waits until it is ready, and sets
# `bin`, `work` and `base`. The server is stopped and its folder removed when the script exits.
serve_demo() {
  if [ -n "${ECHELON_FUZZ_BIN:-}" ]; then
    bin="$(cd "$(dirname "$ECHELON_FUZZ_BIN")" && pwd)/$(basename "$ECHELON_FUZZ_BIN")"
  else
    cargo build -q
    bin="$PWD/target/debug/echelon"
  fi
  work=$(mktemp -d)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  (cd "$work" && ECHELON_BIND="127.0.0.1:$port" ECHELON_LOG=warn exec "$bin" serve --demo >"$work/serve.log" 2>&1) &
  server=$!
  trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
  # a guard against a hang, not a measure: the debug build loads the demo slowly on a loaded machine
  for _ in $(seq 1 3000); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
  done
  cat "$work/serve.log"
  echo "echelon did not become ready at $base"
  return 1
}
