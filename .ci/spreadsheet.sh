#!/usr/bin/env bash
# A closed month's settlement export opened in a real spreadsheet program (Gnumeric's ssconvert,
# Debian's `gnumeric`): the XLSX's sheets, types and sums and the CSV's shape, as finance meets
# them (spreadsheet.py says what is checked). Gnumeric is installed when missing and this runs
# as root on Debian (as CI does); without it the check is skipped, unless
# ECHELON_REQUIRE_SPREADSHEET=1 (set by .ci/run) makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v ssconvert >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing gnumeric for the spreadsheet check"
  # apt's lock may be held by another install for a moment (PostgreSQL's, the browser's)
  apt-get update -qq -o DPkg::Lock::Timeout=300 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends gnumeric >/dev/null
fi
[ "${1:-}" = "--install-only" ] && exit 0
if ! command -v ssconvert >/dev/null; then
  echo "no ssconvert (gnumeric): the spreadsheet check is skipped"
  [ "${ECHELON_REQUIRE_SPREADSHEET:-}" = 1 ] && exit 1
  exit 0
fi
source .ci/serve-demo.sh
serve_demo
python3 .ci/spreadsheet.py "$base" "$work"
