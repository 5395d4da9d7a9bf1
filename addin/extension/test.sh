#!/usr/bin/env bash
# Builds the browser extension and runs all of its tests: unit tests (node --test, jsdom),
# `web-ext lint` on the Firefox build, and the end-to-end test (Debian's chromium driven by
# playwright-core, against a real `pitchlint serve` with the shipped model).
# Installs what it needs on a fresh machine: npm packages from package-lock.json, and
# Debian's chromium when /usr/bin/chromium is missing (as root). No browser is downloaded.
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

echo "== build =="
node build.mjs

echo "== unit tests =="
node --test test/unit/

echo "== web-ext lint (Firefox build) =="
npx --no-install web-ext lint --source-dir dist/firefox --warnings-as-errors --no-input --output text

echo "== end-to-end (chromium + pitchlint serve) =="
node test/e2e/run.mjs
