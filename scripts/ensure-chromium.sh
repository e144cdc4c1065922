#!/usr/bin/env bash
# The end-to-end tests drive Debian's Chromium (Playwright's own browser
# downloads are not reachable from here, nor needed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests"
  apt_install chromium fonts-liberation
fi
# The zip downloads of the browser tests are checked with unzip.
if ! command -v unzip >/dev/null; then
  echo "Installing unzip for the browser tests"
  apt_install unzip
fi
