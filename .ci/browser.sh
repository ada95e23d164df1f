#!/usr/bin/env bash
# Swagger UI in a real headless browser (Debian's chromium, driven by playwright-core from the
# npm registry): log in, authorize, reload, still authorized, run a call (browser/swagger-ui.mjs).
# The screenshot of the last step is kept in target/ci-artefacts/swagger-ui.png.
# Chromium is installed when missing and this runs as root on Debian (as CI does); without it
# the check is skipped, unless ECHELON_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the Swagger UI check"
  # apt's lock may be held by another install for a moment (PostgreSQL's)
  apt-get update -qq -o DPkg::Lock::Timeout=300 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium >/dev/null
fi
[ -d .ci/browser/node_modules/playwright-core ] || (cd .ci/browser && npm ci --no-audit --no-fund --silent)
[ "${1:-}" = "--install-only" ] && exit 0
if [ ! -x "$chromium" ]; then
  echo "no chromium at $chromium: the Swagger UI check is skipped"
  [ "${ECHELON_REQUIRE_BROWSER:-}" = 1 ] && exit 1
  exit 0
fi
source .ci/serve-demo.sh
serve_demo
mkdir -p target/ci-artefacts
CHROMIUM="$chromium" node .ci/browser/swagger-ui.mjs "$base" target/ci-artefacts/swagger-ui.png
