// Reading Cairn's own backend snapshot content (libs/storage's CAIRNBK1 records) without opening a database:
// what `snapshot status` reports, and the file type check of a restore.
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import {
  DATA_FORMAT_ZERO_BASED,
  META_CURRENT_REVISION,
  META_DATA_FORMAT,
  META_SCHEDULED_COMPACT,
  decodeRevisionKey,
} from '@cairn/mvcc';
import { SNAPSHOT_FILE_MAGIC, bucketPrefix, snapshotRecords } from '@cairn/storage';

export const CAIRN_BACKEND_MAGIC = SNAPSHOT_FILE_MAGIC;
const BACKEND_TRAILER_BYTES = 32;

/** True when `file` starts with Cairn's backend snapshot magic (framed or bare, the content comes first). */
export async function isCairnSnapshot(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(CAIRN_BACKEND_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(CAIRN_BACKEND_MAGIC);
  } finally {
    await handle.close();
  }
}

export interface CairnContentStats {
  /** crc32 (IEEE) over every stored key and value, in order: equal files, equal hash. */
  hash: number;
  revision: number;
  /** Stored entries in every bucket (etcd's status counts every bolt key alike). */
  totalKey: number;
  dataFormat: number;
}

function metaNumber(value: Buffer): number {
  return value.length === 8 ? value.readUInt32BE(0) * 0x1_0000_0000 + value.readUInt32BE(4) : 0;
}

/** Scans the backend records in the first `contentBytes` of `file`. */
export async function cairnContentStats(file: string, contentBytes: number): Promise<CairnContentStats> {
  const keyPrefix = bucketPrefix('key');
  const metaPrefix = bucketPrefix('meta');
  let hash = 0;
  let totalKey = 0;
  let lastRevision = 0;
  let metaRevision = 0;
  let scheduled = 0;
  let dataFormat = 0;
  const onRecord = (key: Buffer, value: Buffer): void => {
    totalKey++;
    hash = crc32(value, crc32(key, hash));
    if (key[0] === keyPrefix) {
      lastRevision = Math.max(lastRevision, decodeRevisionKey(key.subarray(1)).revision.main);
    } else if (key[0] === metaPrefix) {
      const name = key.subarray(1);
      if (name.equals(META_CURRENT_REVISION)) metaRevision = metaNumber(value);
      else if (name.equals(META_SCHEDULED_COMPACT)) scheduled = metaNumber(value);
      else if (name.equals(META_DATA_FORMAT)) dataFormat = metaNumber(value);
    }
  };
  for await (const records of snapshotRecords(file, contentBytes - BACKEND_TRAILER_BYTES)) {
    for (const [key, value] of records) onRecord(key, value);
  }
  return {
    hash,
    revision: Math.max(lastRevision, metaRevision, scheduled),
    totalKey,
    dataFormat: dataFormat || DATA_FORMAT_ZERO_BASED,
  };
}
