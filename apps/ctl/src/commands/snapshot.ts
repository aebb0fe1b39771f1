// `cairnctl snapshot save|status|restore`. save streams Maintenance.Snapshot from one member into FILE.part,
// checks the sha256 trailer (etcd and Cairn both end the stream with the sha256 of everything before it),
// fsyncs and renames; status and restore call @cairn/server's restore module (Cairn and real etcd files).
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import type { SnapshotResponse__Output } from '@cairn/api';
import type { EtcdClient } from '@cairn/client';
import { type CommandSpec, CommandError, type Context, ExitCode, UsageError } from '../command';
import { humanBytes } from '../context';

const SHA256_BYTES = 32;

export interface SaveResult {
  size: number;
  sha256: string;
}

/** Streams a snapshot from `client`'s (single) endpoint into `file` (via `file.part`); verifies the sha256. */
export async function saveSnapshot(
  client: EtcdClient,
  file: string,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number | undefined) => void } = {},
): Promise<SaveResult> {
  await client.pool.auth.ready();
  const address = client.pool.current();
  if (!(await client.pool.waitReady(address))) {
    throw Object.assign(new Error(`cannot connect to ${address}`), { code: 14, details: `cannot connect` });
  }
  const service = client.pool.client('etcdserverpb.Maintenance', address) as grpc.Client & {
    Snapshot(request: object): grpc.ClientReadableStream<SnapshotResponse__Output>;
  };
  const part = `${file}.part`;
  const handle = await open(part, 'w', 0o600);
  const hash = createHash('sha256');
  // The last 32 bytes are the trailer: hold them back from the hash until the stream ends.
  let tail = Buffer.alloc(0);
  let received = 0;
  let total: number | undefined;
  const call = service.Snapshot({});
  const abort = () => call.cancel();
  options.signal?.addEventListener('abort', abort);
  try {
    for await (const message of call as AsyncIterable<SnapshotResponse__Output>) {
      const blob = message.blob;
      received += blob.length;
      total ??= received + Number(message.remaining_bytes);
      await handle.write(blob);
      const joined = Buffer.concat([tail, blob]);
      const cut = Math.max(0, joined.length - SHA256_BYTES);
      hash.update(joined.subarray(0, cut));
      tail = Buffer.from(joined.subarray(cut));
      options.onProgress?.(received, total);
    }
    if (options.signal?.aborted) throw new CommandError('snapshot save interrupted', ExitCode.Interrupted);
    if (tail.length !== SHA256_BYTES)
      throw new CommandError(`${address}: snapshot stream too short (${received} bytes)`);
    const digest = hash.digest();
    if (!digest.equals(tail))
      throw new CommandError(`${address}: snapshot sha256 mismatch (the stream was corrupted; try again)`);
    await handle.sync();
    await handle.close();
    await rename(part, file);
    return { size: received, sha256: digest.toString('hex') };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(part, { force: true });
    if (options.signal?.aborted) throw new CommandError('snapshot save interrupted', ExitCode.Interrupted);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/** The single endpoint a snapshot is taken from (etcdctl refuses several). */
function singleEndpoint(ctx: Context): string {
  if (ctx.globals.endpoints.length !== 1)
    throw new UsageError(
      `snapshot must be requested to one selected node, not multiple [${ctx.globals.endpoints.join(' ')}]`,
    );
  return ctx.globals.endpoints[0]!;
}

const save: CommandSpec = {
  name: 'save',
  summary: 'Stream a snapshot of one member into FILE (sha256-checked, written atomically)',
  usage: 'FILE',
  description:
    'Progress goes to stderr; FILE appears only once the whole stream arrived and its sha256 matched.\nWith auth on, the user needs the root role (as etcd).',
  args: { min: 1, max: 1 },
  permission: 'the root role',
  run: async (ctx, args) => {
    const file = args.positionals[0]!;
    const endpoint = singleEndpoint(ctx);
    const client = await ctx.client({ endpoints: [endpoint] });
    const progress = ctx.progress(`snapshot from ${endpoint}`);
    const started = Date.now();
    const result = await saveSnapshot(client, file, {
      signal: ctx.signal,
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.done(`${humanBytes(result.size)} in ${((Date.now() - started) / 1000).toFixed(1)}s, sha256 ok`);
    ctx.stdout.write(`Snapshot saved at ${file}\n`);
    return ExitCode.Success;
  },
};

type ServerRestore = typeof import('@cairn/server');

/** @cairn/server is large: loaded only by the commands that need it. */
async function serverRestore(): Promise<Pick<ServerRestore, 'snapshotStatus' | 'restoreSnapshot'>> {
  return import('@cairn/server');
}

const status: CommandSpec = {
  name: 'status',
  summary: 'Print the hash, revision, key count and size of a snapshot file (Cairn or etcd)',
  usage: 'FILE',
  args: { min: 1, max: 1 },
  run: async (ctx, args) => {
    const { snapshotStatus } = await serverRestore();
    const s = await snapshotStatus(args.positionals[0]!);
    ctx.print(s, {
      columns: [
        { header: 'HASH', get: (r) => r.hash.toString(16) },
        { header: 'REVISION', get: (r) => r.revision },
        { header: 'TOTAL KEYS', get: (r) => r.totalKey },
        { header: 'TOTAL SIZE', get: (r) => humanBytes(r.totalSize) },
        { header: 'DATA FORMAT', get: (r) => r.dataFormat },
        { header: 'SOURCE', get: (r) => r.source },
      ],
    });
    return ExitCode.Success;
  },
};

const restore: CommandSpec = {
  name: 'restore',
  summary: "Restore a snapshot (Cairn's or etcd's snapshot.db) into a new member data dir",
  usage: 'FILE [--name NAME] [--data-dir DIR] [--initial-cluster ...] [--initial-advertise-peer-urls ...]',
  description:
    "As `etcdutl snapshot restore`: run it once per member, each into a fresh data dir, with the same\n--initial-cluster and --initial-cluster-token; the restored cluster has a new cluster ID, the snapshot's\nkeys and revision, and the membership given here. Start the members from their data dirs afterwards.",
  args: { min: 1, max: 1 },
  flags: [
    { name: 'name', type: 'string', default: 'default', help: 'human-readable name for this member' },
    {
      name: 'data-dir',
      type: 'string',
      help: 'path to the data directory (default NAME.etcd)',
      complete: 'dir',
    },
    {
      name: 'initial-cluster',
      type: 'string',
      default: 'default=http://localhost:2380',
      help: 'initial cluster configuration for restore bootstrap',
    },
    {
      name: 'initial-cluster-token',
      type: 'string',
      default: 'etcd-cluster',
      help: 'initial cluster token for the cluster during restore bootstrap',
    },
    {
      name: 'initial-advertise-peer-urls',
      type: 'strings',
      default: ['http://localhost:2380'],
      help: "this member's peer URLs to advertise to the rest of the cluster",
    },
    {
      name: 'skip-hash-check',
      type: 'boolean',
      default: false,
      help: 'ignore the snapshot integrity hash (required if copied from a data directory)',
    },
  ],
  run: async (ctx, args) => {
    const { restoreSnapshot } = await serverRestore();
    const name = args.flags['name'] as string;
    const dataDir = (args.flags['data-dir'] as string | undefined) ?? `${name}.etcd`;
    let stage = '';
    let progress = ctx.progress('restore', undefined, 'items');
    const result = await restoreSnapshot({
      snapshotFile: args.positionals[0]!,
      name,
      dataDir,
      initialCluster: args.flags['initial-cluster'] as string,
      initialClusterToken: args.flags['initial-cluster-token'] as string,
      initialAdvertisePeerUrls: args.flags['initial-advertise-peer-urls'] as string[],
      skipHashCheck: args.flags['skip-hash-check'] === true,
      onProgress: (next, done, total) => {
        if (next !== stage) {
          if (stage) progress.done();
          stage = next;
          // Stages report steps (0/1) or bytes; a large total is bytes.
          progress = ctx.progress(`restore: ${stage}`, total, total > 4096 ? 'bytes' : 'items');
        }
        // Step stages (0/1) print one line when they end; byte stages show their progress.
        if (total > 1) progress.update(done, total);
      },
    });
    if (stage) progress.done();
    ctx.print(
      {
        memberId: result.memberId,
        clusterId: result.clusterId,
        revision: result.revision,
        dataDir,
      },
      {
        columns: [
          { header: 'MEMBER ID', get: (r) => BigInt(r.memberId).toString(16) },
          { header: 'CLUSTER ID', get: (r) => BigInt(r.clusterId).toString(16) },
          { header: 'REVISION', get: (r) => r.revision },
          { header: 'DATA DIR', get: (r) => r.dataDir },
        ],
        simple: ([r]) =>
          `Restored member ${BigInt(r!.memberId).toString(16)} of cluster ${BigInt(r!.clusterId).toString(16)} at revision ${r!.revision} into ${r!.dataDir}\n`,
      },
    );
    return ExitCode.Success;
  },
};

export const snapshotCommand: CommandSpec = {
  name: 'snapshot',
  summary: 'Snapshots: save (from a member), status, restore (into a new data dir)',
  subcommands: [save, status, restore],
};
