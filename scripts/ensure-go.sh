#!/usr/bin/env bash
# Makes sure a Go toolchain is available. A Go >= 1.21 already on PATH fetches
# the version go.mod asks for by itself (GOTOOLCHAIN=auto). Without any Go,
# this fetches the toolchain from the Go module proxy (the same source `go`
# itself uses) into .tools/go.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/go/bin:/usr/local/go/bin:$PATH"
if command -v go >/dev/null 2>&1; then
  exit 0
fi
want=$(awk '/^go [0-9]/ {print $2; exit}' go.mod)
arch=$(uname -m); case "$arch" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; esac
os=$(uname -s | tr A-Z a-z)
mod="v0.0.1-go${want}.${os}-${arch}"
echo "Go not found: fetching go${want} (${os}/${arch}) from the Go module proxy"
source scripts/lib.sh
need_pkg curl curl
need_pkg unzip unzip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/${mod}.zip" -o "$tmp/go.zip"
unzip -q "$tmp/go.zip" -d "$tmp"
rm -rf .tools/go
mkdir -p .tools
mv "$tmp/golang.org/toolchain@${mod}" .tools/go
chmod -R u+x .tools/go/bin .tools/go/pkg/tool
.tools/go/bin/go version
