#!/usr/bin/env bash
# API fuzzing: Schemathesis (v4, in a virtual environment made here) with all checks, as admin,
# as a station user and, on the operations only a courier may call, as a courier, side by side,
# each against a locally served demo of its own; then each demo's audit must be clean.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${ECHELON_FUZZ_EXAMPLES:-25}"
venv="target/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
# `--install-only`: just the virtual environment (.ci/run makes it while Rust compiles)
[ "${1:-}" = "--install-only" ] && exit 0
# the served demo: ECHELON_FUZZ_BIN names a binary already built from this tree (.ci/run passes
# the one `cargo test` built, the same code; a plain `cargo build` would rebuild the
# dependencies whose features the dev-dependencies widen)
source .ci/serve-demo.sh
token() {
  curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"echelon-demo\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
# pass USER [OPTIONS...]: a served demo of its own, fuzzed as USER (OPTIONS narrow the
# operations), then that demo's audit. The passes run side by side, each on its own database,
# so none sees what another changed.
pass() {
  serve_demo
  local user=$1 token status=0
  shift
  # the token before any fuzzing: the fuzzer's failed logins are counted per client address
  # (all of them come from 127.0.0.1) and end in 429 until the window ends; the token itself
  # stays valid (the fuzzer cannot guess the username's paths, and an admin may not disable or
  # demote their own account)
  token=$(token "$user")
  echo "== schemathesis as $user ($examples examples per operation)"
  # one worker: with two threads, Hypothesis' concurrent ast.parse trips a CPython 3.11 bug
  # ("SystemError: AST constructor recursion depth mismatch"), a crash of the tool that failed
  # about one run in two; the checks and the examples are the same (two processes share nothing)
  "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml run "$base/api-docs/openapi.json" \
    --url "$base" -H "Authorization: Bearer $token" --checks all \
    --max-examples "$examples" --workers 1 --seed 20261123 --no-color "$@" || status=1
  echo "== audit after fuzzing as $user"
  (cd "$work" && "$bin" audit) || status=1
  return $status
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
users=(admin station-st-tz-001 courier-1)
# an admin is refused (403) before its input is read where only a courier may act: a courier
# fuzzes those operations' input
courier_only='^/api/v1/(shipments/\{id\}/events|tenders/\{id\}/bids)$'
pids=()
for user in "${users[@]}"; do
  if [ "$user" = courier-1 ]; then
    (pass "$user" --include-path-regex "$courier_only") >"$out/$user" 2>&1 &
  else
    (pass "$user") >"$out/$user" 2>&1 &
  fi
  pids+=($!)
done
status=0
for i in "${!users[@]}"; do
  wait "${pids[$i]}" || status=1
  cat "$out/${users[$i]}"
done
exit $status
