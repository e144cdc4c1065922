#!/usr/bin/env bash
# A whole grid on this machine, for demos: one introducer, ten storage nodes and
# a gateway node (web app and helper), each a separate `cube` process on
# loopback. The first run creates the nodes under $GRID_DIR; later runs reuse
# them. Ctrl-C stops every node (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
CUBE=${CUBE:-bin/cube}
DIR=${GRID_DIR:-grid-data}
PORT=${GRID_PORT:-43100}
WEB=${GRID_WEB:-127.0.0.1:8080}
STORAGE_NODES=${GRID_STORAGE_NODES:-10}

if [ ! -f "$DIR/introducer/node.json" ]; then
  "$CUBE" create-introducer --data "$DIR/introducer" --listen "127.0.0.1:$PORT" >/dev/null
  intro=$(cat "$DIR/introducer/introducer.nurl")
  for i in $(seq 1 "$STORAGE_NODES"); do
    "$CUBE" create-node --data "$DIR/storage$i" --listen "127.0.0.1:$((PORT + i))" \
      --introducer "$intro" --storage --nickname "storage$i" --reserved-space 100MB >/dev/null
  done
  "$CUBE" create-node --data "$DIR/gateway" --listen "127.0.0.1:$((PORT + STORAGE_NODES + 1))" \
    --introducer "$intro" --helper --web "$WEB" --nickname gateway >/dev/null
fi

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "grid stopped"
}
trap stop INT TERM EXIT
mkdir -p "$DIR/logs"
for n in "$DIR"/introducer "$DIR"/storage* "$DIR"/gateway; do
  name=$(basename "$n")
  "$CUBE" run --data "$n" >"$DIR/logs/$name.log" 2>&1 &
  pids+=($!)
done
cat <<MSG
Grid running: introducer, $STORAGE_NODES storage nodes, gateway (logs in $DIR/logs).
  web app:    http://$WEB  (the gateway node: set up its administrator there)
  introducer: $(cat "$DIR/introducer/introducer.nurl")
  try:        $CUBE put --node $DIR/gateway FILE    then    $CUBE get --node $DIR/gateway CAP OUT
              $CUBE status --node $DIR/gateway
Ctrl-C stops the grid.
MSG
wait
