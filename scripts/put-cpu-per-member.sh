#!/bin/bash
# Server CPU µs per put, member by member, for a Cairn build: N fresh members on loopback, the Go clientv3
# generator (scripts/build-go.sh) against the leader, utime+stime from /proc over exactly the measured window.
# Optionally each member under `node --cpu-prof` (then: scripts/cpu-profile-stages.mjs <profile> <µs> 7 0.5).
#
#   scripts/put-cpu-per-member.sh <tree> <members 1|3> <inflight> <duration> <tag> [prof]
#   PRIME=25s scripts/put-cpu-per-member.sh /tmp/before 3 256 5s before     # prime: fill the key space first
#
# <tree> is a built checkout (e.g. `git archive <commit>` with node_modules linked), so A/B runs never use the
# shared working tree. Prints one line (also appended to $OUT, default /tmp/put-cpu-per-member.txt).
set -u
tree=$1; n=$2; inf=$3; dur=$4; tag=$5; prof=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
loadgen=${LOADGEN:-$here/../dist/go/bin/loadgen}
bp=${BASE_PORT:-24100}
d=${TMPDIR:-/tmp}/put-cpu-$tag; rm -rf "$d"; mkdir -p "$d"
cl=""; for i in $(seq 1 "$n"); do cl="$cl,m$i=http://127.0.0.1:$((bp+10+i))"; done; cl=${cl#,}
pids=()
for i in $(seq 1 "$n"); do
  popt=""; [ -n "$prof" ] && popt="--cpu-prof --cpu-prof-dir=$d/prof$i"
  node $popt "$tree/apps/server/dist/main.js" --name m$i --data-dir "$d/data$i" \
    --listen-client-urls http://127.0.0.1:$((bp+i)) --advertise-client-urls http://127.0.0.1:$((bp+i)) \
    --listen-peer-urls http://127.0.0.1:$((bp+10+i)) --initial-advertise-peer-urls http://127.0.0.1:$((bp+10+i)) \
    --initial-cluster "$cl" --initial-cluster-state new >"$d/out$i.log" 2>"$d/err$i.log" &
  pids+=($!)
done
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait; }
leader=""
for _ in $(seq 1 100); do
  for i in $(seq 1 "$n"); do
    s=$(ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:$((bp+i)) endpoint status -w json 2>/dev/null) || continue
    if echo "$s" | node -e 'const s=JSON.parse(require("fs").readFileSync(0))[0].Status;process.exit(s.leader===s.header.member_id?0:1)' 2>/dev/null; then
      leader=$i; break 2
    fi
  done
  sleep 0.2
done
[ -z "$leader" ] && { echo "$tag: no leader"; stop; exit 1; }
ep=127.0.0.1:$((bp+leader))
"$loadgen" -endpoints $ep -workload put -inflight "$inf" -warmup 3s -duration "${PRIME:-2s}" >/dev/null 2>&1
res=$(node "$here/put-cpu-window.mjs" "$loadgen" $ep "$inf" "$dur" "$(IFS=,; echo "${pids[*]}")")
echo "$tag members=$n inflight=$inf leader=m$leader load=$(cut -d' ' -f1 /proc/loadavg) $res" | tee -a "${OUT:-/tmp/put-cpu-per-member.txt}"
stop
