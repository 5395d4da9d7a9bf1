#!/usr/bin/env bash
# Builds the browser extension and runs all of its tests: unit tests (node --test, jsdom),
# `web-ext lint` on the Firefox build, and the end-to-end tests (Debian's chromium driven by
# playwright-core, against a real `pitchlint serve` with the shipped model, then on-device mode
# with no service at all).
# Installs what it needs on a fresh machine: npm packages from package-lock.json, and
# Debian's chromium when /usr/bin/chromium is missing (as root). No browser is downloaded.
set -euo pipefail
cd "$(dirname "$0")"

bash ../../.ci/ensure-chromium

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

echo "== end-to-end, on this device (chromium, no service; nothing may leave the browser) =="
node test/e2e/on-device.mjs
