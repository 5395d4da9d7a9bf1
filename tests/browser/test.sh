#!/usr/bin/env bash
# Browser check of the team lead's pages: Debian's chromium driven by playwright-core (with
# JavaScript off) against a real `pitchlint serve` with the shipped model. Writes screenshots
# team-*.png to $SCREENSHOTS (default docs/screenshots/; .ci/run sets a temporary folder unless
# given --update-screenshots). Exits non-zero on any failed check.
# Installs what it needs on a fresh machine: npm packages from package-lock.json, and Debian's
# chromium when /usr/bin/chromium is missing (as root). No browser is downloaded by npm.
set -euo pipefail
cd "$(dirname "$0")"

bash ../../.ci/ensure-chromium

echo "== npm ci =="
npm ci --no-audit --no-fund --loglevel=error

echo "== team pages in chromium (pitchlint serve) =="
node team-pages.mjs
