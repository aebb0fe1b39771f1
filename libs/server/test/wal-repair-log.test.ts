// Issue 14: a torn WAL tail is repaired with a warning that names the segment file and the offset.
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { singleMemberConfig } from '../src/config';
import type { Logger } from '../src/logger';
import { CairnNode } from '../src/node';
import { ANONYMOUS } from '../src/port/etcd-port';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function recordingLogger(lines: { level: string; obj: object; msg?: string }[]): Logger {
  const logger: Logger = {
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

it('logs a warning with the segment file and offset when it repairs a torn WAL tail', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-wal-repair-'));
  dirs.push(dir);
  const lines: { level: string; obj: object; msg?: string }[] = [];
  let node = await CairnNode.start(singleMemberConfig(dir, { logger: recordingLogger(lines) }));
  await until(() => node.isLeader());
  await node.propose(
    {
      put: {
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        lease: '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    },
    ANONYMOUS,
  );
  await node.close();
  expect(lines.filter((l) => l.level === 'warn' && /torn/.test(l.msg ?? ''))).toEqual([]);

  // A write that never completed: garbage past the last record of the last segment.
  const walDir = join(dir, 'member', 'wal');
  const last = readdirSync(walDir)
    .filter((name) => name.endsWith('.wal'))
    .sort()
    .at(-1);
  if (!last) throw new Error('no WAL segment');
  const segment = join(walDir, last);
  const at = statSync(segment).size - 4096;
  const fd = openSync(segment, 'r+');
  writeSync(fd, Buffer.alloc(100, 0xab), 0, 100, at);
  closeSync(fd);

  node = await CairnNode.start(singleMemberConfig(dir, { logger: recordingLogger(lines) }));
  try {
    await until(() => node.isLeader());
    const warning = lines.find((l) => l.level === 'warn' && /torn tail/.test(l.msg ?? ''));
    expect(warning?.obj).toMatchObject({ segment });
    const { offset, bytes } = warning?.obj as { offset: number; bytes: number };
    expect(offset).toBeGreaterThan(0);
    expect(offset + bytes).toBe(at + 100);
    // The one put survives, at revision 2 (etcd's numbering: the fresh store was at 1).
    expect(node.kv.currentRevision).toBe(2);
  } finally {
    await node.close();
  }
});
