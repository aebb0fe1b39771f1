#!/usr/bin/env node
// @ts-check
// The image's HEALTHCHECK: GET /livez on the member's plain-HTTP metrics URL (CAIRN_LISTEN_METRICS_URLS,
// set by the image), else on http://127.0.0.1:2379; CAIRN_HEALTHCHECK_URL overrides. Exit 0 when it answers 200.
import { get } from 'node:http';

const metrics = (process.env['CAIRN_LISTEN_METRICS_URLS'] ?? '').split(',')[0];
const base =
  metrics && metrics.startsWith('http://')
    ? metrics.replace('//0.0.0.0:', '//127.0.0.1:')
    : 'http://127.0.0.1:2379';
const url = process.env['CAIRN_HEALTHCHECK_URL'] || new URL('/livez', base).toString();

const req = get(url, { timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck ${url}: ${err.message}\n`);
  process.exit(1);
});
