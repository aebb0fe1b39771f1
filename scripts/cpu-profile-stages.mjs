#!/usr/bin/env node
// CPU per put by stage of the write path, from a V8 .cpuprofile (`node --cpu-prof`) of a Cairn member.
// Every sample is given to the first stage a frame of its stack matches, walking from the leaf up (so a
// library's own frames win over the callers that reached them). Idle samples and samples blocked in an
// inline fdatasync are not CPU; the other samples' shares are scaled to the CPU per put measured outside
// (from /proc utime+stime over the same window), since a profile's own sample interval drifts under load.
//
//   node scripts/cpu-profile-stages.mjs <profile> <cpu µs per put> [window s before the end] [skip s at end]
//   node scripts/cpu-profile-stages.mjs prof/CPU.*.cpuprofile 133 8 0.3
import { readFileSync } from 'node:fs';

const [file, cpuArg, winArg, skipArg] = process.argv.slice(2);
if (file === undefined || cpuArg === undefined) {
  console.error('usage: cpu-profile-stages.mjs <profile> <cpu µs per put> [window s] [skip s at end]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (n) =>
  `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(node_modules|libs|apps)\//, '$1/')}`;

const NOT_CPU = ['idle', 'fsync wait (blocked, not CPU)'];
const STAGES = [
  ['GC', /^\(garbage collector\)/],
  ['idle', /^\(idle\)/],
  ['fsync wait (blocked, not CPU)', /^fdatasync $/],
  ['WAL encode+CRC+write', /storage\/dist\/wal\/|crc32c|entry-codec|binary-writer/],
  ['transport to peers', /server\/dist\/transport|server\/dist\/peer\/|apps\/server\/dist\/peer\//],
  [
    'apply (decode, MVCC write txn, LevelDB batch)',
    /server\/dist\/(applier|backend-batcher|state-machine|consistent-index|wait)|applyEntries|libs\/mvcc\/|storage\/dist\/backend|abstract-level|classic-level|level-transcoder|module-error|decodeInternalRequest|InternalRaftRequest\$(decode|toObject)/,
  ],
  [
    'propose (encode InternalRaftRequest, wait registry)',
    /encodeInternalRequest|put-proposal-codec|InternalRaftRequest\$(encode|fromObject)|server\/dist\/(proposal|node)\.js|server\/dist\/etcd\/(propose|kv-api|validation)|server\/dist\/ids|server\/dist\/auth\/|^fromString long|^toString long/,
  ],
  ['Raft step + raft loop', /libs\/raft\/|raft-loop/],
  ['protobuf decode (request)', /\$decode|requestDeserialize|deserialize/],
  ['response encode', /\$encode|responseSerialize|serialize|grpcMessage/],
  [
    'pipeline (auth, limits, metrics, deadline, abort signal)',
    /edge\/dist\/pipeline|prom-client|^admit |apps\/server\/dist\/(metrics|edge-metrics|request-pipeline)|^bounded |abort_controller|domexception|api\/dist\/errors/,
  ],
  [
    'HTTP/2 + gRPC framing (incl. answer write)',
    /http2|edge\/dist\/|stream_base_commons|internal\/streams|grpc-js/,
  ],
  ['start-up (module loading)', /cjs\/loader|^wrapSafe|readFileUtf8|internalModuleStat/],
];

const times = [];
let t = profile.startTime;
for (const delta of profile.timeDeltas) times.push((t += delta));
const win = Number(winArg ?? 1e9) * 1e6;
const skip = Number(skipArg ?? 0) * 1e6;
const counts = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < profile.endTime - skip - win || times[i] > profile.endTime - skip) continue;
  total++;
  let stage;
  for (let id = profile.samples[i]; id !== undefined && !stage; id = parent.get(id)) {
    const f = frame(byId.get(id));
    stage = STAGES.find(([, re]) => re.test(f))?.[0];
  }
  stage ??= 'other (native, event loop, microtasks)';
  counts.set(stage, (counts.get(stage) ?? 0) + 1);
}
const notCpu = NOT_CPU.reduce((sum, s) => sum + (counts.get(s) ?? 0), 0);
console.log(`| stage | share of samples | µs per put |`);
console.log(`|---|--:|--:|`);
for (const [stage, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  const us = NOT_CPU.includes(stage) ? '–' : ((Number(cpuArg) * n) / (total - notCpu)).toFixed(1);
  console.log(`| ${stage} | ${((100 * n) / total).toFixed(1)} % | ${us} |`);
}
console.log(`| **CPU per put** | | **${Number(cpuArg).toFixed(0)}** |`);
