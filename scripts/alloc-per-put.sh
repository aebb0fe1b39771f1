#!/bin/bash
# Bytes a put allocates on one member, by allocating function: a member under V8's sampling heap profiler
# (objects already collected counted too), the Go clientv3 generator at <inflight> for 3 s after 2 s of warm-up.
#   scripts/alloc-per-put.sh <inflight> [rows] [member flags...]
set -eu
inflight=$1; rows=${2:-30}; shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
loadgen=${LOADGEN:-$here/../dist/go/bin/loadgen}
d=$(mktemp -d); port=${PORT:-24700}; pport=$((port + 1))
HEAP_OUT=$d/heap.json node -r "$here/alloc/heap-sampling-preload.cjs" "$here/../apps/server/dist/main.js" \
  --name a --data-dir "$d/data" --listen-client-urls http://127.0.0.1:$port --advertise-client-urls http://127.0.0.1:$port \
  --listen-peer-urls http://127.0.0.1:$pport --initial-advertise-peer-urls http://127.0.0.1:$pport \
  --initial-cluster a=http://127.0.0.1:$pport "$@" >"$d/member.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 1 100); do etcdctl --endpoints=127.0.0.1:$port endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
load() { "$loadgen" -endpoints 127.0.0.1:$port -workload put -inflight "$inflight" -conns 1 -duration "$1" -warmup 0ms \
  -key-size 16 -key-space 100000 -val-size 256; }
load 2000ms >/dev/null
kill -USR1 $pid; sleep 0.3
puts=$(load 3000ms | grep -o '"ops":[0-9]*' | cut -d: -f2)
kill -USR2 $pid
for _ in $(seq 1 50); do [ -s "$d/heap.json" ] && break; sleep 0.2; done
node "$here/alloc/top-allocators.mjs" "$d/heap.json" "$puts" "$rows"
