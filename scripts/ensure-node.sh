#!/usr/bin/env bash
# Node.js runs Playwright and Go's wasm tests (go_js_wasm_exec).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_pkg node nodejs
need_pkg npm npm
