#!/usr/bin/env bash
# Grid benchmark, for docs/BENCHMARKS.md: `cube put` and `cube get` of a random
# file through a helper to storage nodes on this machine, and, side by side with
# the same redundancy, MinIO's erasure-coded server on four drive folders driven
# by rclone. Prints a markdown table. Every process it starts, it stops by PID.
#
#   SIZE_MIB=1024 scripts/bench-grid.sh            # both layouts, MinIO if found
#   MINIO=/path/to/minio RCLONE=rclone ...         # where the MinIO binary is
set -euo pipefail
cd "$(dirname "$0")/.."
CUBE=${CUBE:-$PWD/bin/cube}
SIZE_MIB=${SIZE_MIB:-1024}
MINIO=${MINIO:-$(command -v minio || echo "$HOME/go/bin/minio")}
RCLONE=${RCLONE:-$(command -v rclone || true)}
WORK=$(mktemp -d /tmp/cube-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

RUNS=${RUNS:-3}

# median of the lines "seconds rss" on stdin: prints "seconds rss" of the median run
median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

# vary: make the file's content new (first 16 bytes), so that convergent
# encryption gives a new key and nothing is deduplicated between runs.
vary() { head -c 16 /dev/urandom | dd of="$WORK/file" bs=16 count=1 conv=notrunc status=none; }

# measure CMD...: runs CMD, prints "seconds maxrss_kib"
measure() {
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  cat "$WORK/time"
}

mbps() { python3 -c "print(f'{$SIZE_MIB*1048576/1e6/float(\"$1\"):.0f}')"; }

echo "# $(date -u +%F) · $(nproc) cores · $(uname -m) · ${SIZE_MIB} MiB random file · median of $RUNS runs" >&2
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$WORK/file"

cube_grid() { # K N: introducer, N storage nodes, a helper node; encoding K-of-N, happy N
  local k=$1 n=$2 dir="$WORK/grid-$1-$2" p
  p=$(port)
  "$CUBE" create-introducer --data "$dir/intro" --listen "127.0.0.1:$p" >/dev/null
  local intro; intro=$(cat "$dir/intro/introducer.nurl")
  for i in $(seq 1 "$n"); do
    "$CUBE" create-node --data "$dir/s$i" --listen "127.0.0.1:$(port)" --introducer "$intro" --storage --reserved-space 0 --nickname "s$i" >/dev/null
  done
  "$CUBE" create-node --data "$dir/helper" --listen "127.0.0.1:$(port)" --introducer "$intro" --helper --k "$k" --happy "$n" --n "$n" >/dev/null
  for d in "$dir"/intro "$dir"/s* "$dir"/helper; do
    "$CUBE" run --data "$d" >"$d.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 1 200); do
    "$CUBE" status --node "$dir/helper" 2>/dev/null | grep -q "$n known, $n connected" && break
    sleep 0.2
  done
  local puts="" gets="" c
  for _ in $(seq 1 "$RUNS"); do
    vary
    puts+="$(measure "$CUBE" put -q --node "$dir/helper" "$WORK/file")"$'\n'
    c=$(cat "$WORK/out")
    sync # the put's writes are not the get's business
    gets+="$(measure "$CUBE" get --node "$dir/helper" "$c" "$WORK/back")"$'\n'
    cmp -s "$WORK/file" "$WORK/back" || { echo "cube get returned different bytes" >&2; exit 1; }
    rm -f "$WORK/back"
  done
  read -r pt pr < <(printf '%s' "$puts" | median)
  read -r gt gr < <(printf '%s' "$gets" | median)
  echo "| cube, $k-of-$n, $n storage nodes + helper | $(mbps "$pt") MB/s ($pt s) | $((pr / 1024)) MiB | $(mbps "$gt") MB/s ($gt s) | $((gr / 1024)) MiB |"
  for d in "$dir"/*.log; do :; done
}

minio_bench() {
  local dir="$WORK/minio" p; p=$(port)
  mkdir -p "$dir"/d{1..4}
  # MINIO_CI_CD lets MinIO use folders on the root disk, as cube does here.
  MINIO_CI_CD=on MINIO_ROOT_USER=benchuser MINIO_ROOT_PASSWORD=benchpassword MINIO_BROWSER=off \
    "$MINIO" server --quiet --address "127.0.0.1:$p" "$dir/d{1...4}" >"$dir.log" 2>&1 &
  PIDS+=($!)
  # A CA bundle meant for real AWS breaks rclone against a local MinIO.
  unset AWS_CA_BUNDLE
  export RCLONE_CONFIG_M_TYPE=s3 RCLONE_CONFIG_M_PROVIDER=Minio RCLONE_CONFIG_M_ENDPOINT="http://127.0.0.1:$p" \
    RCLONE_CONFIG_M_ACCESS_KEY_ID=benchuser RCLONE_CONFIG_M_SECRET_ACCESS_KEY=benchpassword
  for _ in $(seq 1 100); do "$RCLONE" mkdir m:bench 2>/dev/null && break; sleep 0.2; done
  local puts="" gets=""
  for _ in $(seq 1 "$RUNS"); do
    vary
    puts+="$(measure "$RCLONE" copyto "$WORK/file" m:bench/file)"$'\n'
    sync
    gets+="$(measure "$RCLONE" copyto m:bench/file "$WORK/back")"$'\n'
    cmp -s "$WORK/file" "$WORK/back" || { echo "minio returned different bytes" >&2; exit 1; }
    rm -f "$WORK/back"
  done
  read -r pt pr < <(printf '%s' "$puts" | median)
  read -r gt gr < <(printf '%s' "$gets" | median)
  echo "| MinIO (EC 2+2 on 4 drives) + rclone | $(mbps "$pt") MB/s ($pt s) | $((pr / 1024)) MiB (rclone) | $(mbps "$gt") MB/s ($gt s) | $((gr / 1024)) MiB (rclone) |"
}

echo "| setup | put | put peak RSS | get | get peak RSS |"
echo "|---|---|---|---|---|"
cube_grid 2 4
if [ -x "$MINIO" ] && [ -n "$RCLONE" ]; then
  minio_bench
else
  echo "(MinIO or rclone missing: set MINIO and RCLONE; \`go install github.com/minio/minio@latest\`, \`apt-get install rclone\`)" >&2
fi
cube_grid 3 10
