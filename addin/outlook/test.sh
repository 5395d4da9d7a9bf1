#!/usr/bin/env bash
# The Outlook add-in's JavaScript tests (pane, Smart Alerts handler, client, manifest schema).
# Installs exactly what package-lock.json pins, then runs Node's test runner.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --test test/
