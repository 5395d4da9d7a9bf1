#!/usr/bin/env bash
# Browser check of the team lead's pages: Debian's chromium driven by playwright-core (with
# JavaScript off) against a real `pitchlint serve` with the shipped model. Writes screenshots
# to docs/screenshots/team-*.png. Exits non-zero on any failed check.
# Installs what it needs on a fresh machine: npm packages from package-lock.json, and Debian's
# chromium when /usr/bin/chromium is missing (as root). No browser is downloaded by npm.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing chromium (Debian package) =="
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing: run 'sudo apt-get install -y chromium' (or set CHROMIUM=/path/to/chromium)" >&2
        exit 1
    fi
fi

echo "== npm ci =="
npm ci --no-audit --no-fund --loglevel=error

echo "== team pages in chromium (pitchlint serve) =="
node team-pages.mjs
