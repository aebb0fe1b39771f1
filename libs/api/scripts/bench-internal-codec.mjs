// Throughput of the Raft entry codec on a typical registry write (a Put with a lease).
// Build first (npm run build), then: node scripts/bench-internal-codec.mjs
// A measurement, not a test: the numbers go into README.md, never into assertions.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { encodeInternalRequest, decodeInternalRequest } = require('../dist/index.js');

const request = {
  header: { ID: '1311768467463790320', requester_member_id: '9372538179322589801' },
  put: {
    key: Buffer.from('/cairn/registry/default/orders/10.0.0.7:8080'),
    value: Buffer.alloc(256, 0x61),
    lease: '7587862072081834000',
  },
};
const small = { header: { ID: '42' }, put: { key: Buffer.from('foo'), value: Buffer.from('bar') } };

function measure(name, fn, seconds = 1) {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(seconds * 1e9);
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 1000; i++) fn();
    ops += 1000;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(44)} ${Math.round(ops / elapsed).toLocaleString('en-US')} ops/s`);
}

for (const [label, req] of [
  ['Put 256 B value, lease, big IDs', request],
  ['Put foo=bar, small IDs', small],
]) {
  const bytes = encodeInternalRequest(req);
  console.log(`${label}: ${bytes.length} bytes`);
  measure('  encode', () => encodeInternalRequest(req));
  measure('  decode', () => decodeInternalRequest(bytes));
  measure('  encode+decode', () => decodeInternalRequest(encodeInternalRequest(req)));
}
