// Runs the Go generator's put workload and reads each pid's utime+stime at its measure-start and measure-end
// events: server CPU µs per put per member over exactly the measured window (used by put-cpu-per-member.sh).
//   node scripts/put-cpu-window.mjs <loadgen> <endpoint> <inflight> <duration> <pid,pid,..>
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [loadgen, endpoint, inflight, duration, pidList] = process.argv.slice(2);
const pids = pidList.split(',').map(Number);
// Fields 14 and 15 of /proc/<pid>/stat (after the command name), in clock ticks of 10 ms.
const ticks = () =>
  pids.map((pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  });
let start;
let end;
let result;
const child = spawn(loadgen, [
  '-endpoints',
  endpoint,
  '-workload',
  'put',
  '-inflight',
  inflight,
  '-warmup',
  '1s',
  '-duration',
  duration,
]);
let pending = '';
child.stdout.on('data', (chunk) => {
  pending += chunk;
  for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    if (line.includes('measure-start')) start = ticks();
    else if (line.includes('measure-end')) end = ticks();
    else if (line.includes('"result"')) result = JSON.parse(line).result;
  }
});
child.on('close', () => {
  if (!start || !end || !result) {
    console.log('{"error":"the generator gave no result"}');
    process.exit(1);
  }
  const perMember = start.map((t, k) => Math.round(((end[k] - t) * 1e4) / result.ops));
  const total = perMember.reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify({
      ops: result.ops,
      opsPerSec: Math.round(result.opsPerSec),
      p50Ms: result.latencyMs.p50,
      errors: result.errors,
      cpuUsPerPut: perMember,
      total,
    }),
  );
});
