// A read-only reader of bbolt database files (etcd's backend), written from bbolt's documented on-disk
// layout: page 0 and 1 are meta pages, every other page is a branch, leaf, freelist or overflow continuation.
// Pages are read on demand from the file (never the whole file), so memory stays bounded by the depth of
// the B+tree times the page size, whatever the file size.
import { open, type FileHandle } from 'node:fs/promises';

/** Page header: id u64, flags u16, count u16, overflow u32 (little-endian, as bbolt writes on amd64/arm64). */
const PAGE_HEADER = 16;
const BRANCH_ELEMENT = 16; // pos u32, ksize u32, pgid u64
const LEAF_ELEMENT = 16; // flags u32, pos u32, ksize u32, vsize u32
const BUCKET_HEADER = 16; // root pgid u64, sequence u64

const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const META_PAGE = 0x04;
/** A leaf element whose value is a nested bucket header (and, when inline, its page). */
const BUCKET_LEAF = 0x01;

export const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
/** The meta fields covered by its checksum: magic..txid (the checksum u64 follows). */
const META_CHECKED_BYTES = 56;
const META_BYTES = 64;
const MAX_DEPTH = 64;
/** Bytes read at once when a page is not in the current read-ahead window. */
const READ_AHEAD_BYTES = 256 * 1024;

export interface BoltMeta {
  pageSize: number;
  /** Root page of the top-level bucket. */
  root: number;
  freelist: number;
  /** High-water mark: pages in use; the database is pgid * pageSize bytes (etcd's tx.Size()). */
  pgid: number;
  txid: number;
}

/** One key of a bucket; `bucket` marks a nested bucket (bbolt hands its value as nil to ForEach). */
export interface BoltEntry {
  key: Buffer;
  value: Buffer;
  bucket: boolean;
}

export class BoltFormatError extends Error {
  constructor(message: string) {
    super(`bbolt: ${message}`);
    this.name = 'BoltFormatError';
  }
}

/** FNV-1a 64-bit, the checksum of a bbolt meta page. */
export function fnv64a(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

function u64(bytes: Buffer, offset: number): number {
  const value = bytes.readBigUInt64LE(offset);
  // 0xffff...: etcd's "no freelist" marker (NoFreelistSync) and similar sentinels.
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(value);
}

/**
 * Parses the meta in `page` (a meta page's bytes). Returns undefined when it is not a valid meta: wrong
 * flags, magic or version, or a checksum that does not match (a torn write of the newer meta page).
 */
export function parseMeta(page: Buffer): BoltMeta | undefined {
  if (page.length < PAGE_HEADER + META_BYTES) return undefined;
  if ((page.readUInt16LE(8) & META_PAGE) === 0) return undefined;
  const meta = page.subarray(PAGE_HEADER, PAGE_HEADER + META_BYTES);
  if (meta.readUInt32LE(0) !== BOLT_MAGIC || meta.readUInt32LE(4) !== BOLT_VERSION) return undefined;
  const checksum = meta.readBigUInt64LE(META_CHECKED_BYTES);
  if (checksum !== fnv64a(meta.subarray(0, META_CHECKED_BYTES))) return undefined;
  return {
    pageSize: meta.readUInt32LE(8),
    root: u64(meta, 16),
    freelist: u64(meta, 32),
    pgid: u64(meta, 40),
    txid: u64(meta, 48),
  };
}

export class BoltReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly meta: BoltMeta,
    /** Bytes of the file (a snapshot may carry a trailer past the database, e.g. etcd's sha256). */
    readonly fileSize: number,
  ) {}

  /** Opens `file` and picks the valid meta page with the higher txid, as bbolt does. */
  static async open(file: string): Promise<BoltReader> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const first = await readAt(handle, 0, Math.min(size, 4096));
      const meta0 = parseMeta(first);
      // Page 1 sits one page further; without a valid page 0 the page size is a guess (the usual ones).
      const sizes = meta0 ? [meta0.pageSize] : [4096, 8192, 16384, 65536, 1024, 2048];
      let meta1: BoltMeta | undefined;
      for (const pageSize of sizes) {
        if (pageSize + PAGE_HEADER + META_BYTES > size) continue;
        meta1 = parseMeta(await readAt(handle, pageSize, PAGE_HEADER + META_BYTES));
        if (meta1 && meta1.pageSize === pageSize) break;
        meta1 = undefined;
      }
      const candidates = [meta0, meta1].filter((m): m is BoltMeta => m !== undefined);
      if (candidates.length === 0) throw new BoltFormatError(`${file}: no valid meta page`);
      const meta = candidates.reduce((a, b) => (b.txid > a.txid ? b : a));
      if (meta.pgid * meta.pageSize > size) {
        throw new BoltFormatError(`${file}: ${size} bytes, meta says ${meta.pgid} pages of ${meta.pageSize}`);
      }
      return new BoltReader(handle, meta, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Bytes of the database itself (etcd's tx.Size(), what `snapshot status` calls totalSize). */
  get size(): number {
    return this.meta.pgid * this.meta.pageSize;
  }

  /** Pages read so far (for progress against meta.pgid). */
  pagesRead = 0;

  /** The top-level buckets, in key order: name and the bucket header value. */
  async *buckets(): AsyncGenerator<BoltEntry[]> {
    yield* this.walk(await this.page(this.meta.root));
  }

  /**
   * Every entry of a bucket, in key order, one leaf page at a time. `header` is the bucket's value in its
   * parent (root pgid + sequence, then the inline page when the root is 0).
   */
  async *entries(header: Buffer): AsyncGenerator<BoltEntry[]> {
    if (header.length < BUCKET_HEADER) throw new BoltFormatError('bucket header too short');
    const root = u64(header, 0);
    if (root === 0) {
      // Inline bucket: a small bucket whose only page is stored inside its parent's value.
      yield* this.walk(header.subarray(BUCKET_HEADER));
      return;
    }
    yield* this.walk(await this.page(root));
  }

  /** The value of one top-level bucket's header, or undefined when missing. */
  async bucket(name: string): Promise<Buffer | undefined> {
    for await (const entries of this.buckets()) {
      for (const entry of entries) {
        if (entry.bucket && entry.key.toString('latin1') === name) return entry.value;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Depth-first over a branch/leaf page tree; branch elements are in key order, so leaves come in order. */
  private async *walk(page: Buffer, depth = 0): AsyncGenerator<BoltEntry[]> {
    // A B+tree of 4 KB pages is a handful of levels deep; deeper means a corrupt file pointing in a cycle.
    if (depth > MAX_DEPTH) throw new BoltFormatError(`tree deeper than ${MAX_DEPTH} pages`);
    const flags = page.readUInt16LE(8);
    const count = page.readUInt16LE(10);
    if (flags & BRANCH_PAGE) {
      for (let i = 0; i < count; i++) {
        const element = PAGE_HEADER + i * BRANCH_ELEMENT;
        yield* this.walk(await this.page(u64(page, element + 8)), depth + 1);
      }
      return;
    }
    if ((flags & LEAF_PAGE) === 0)
      throw new BoltFormatError(`page of flags 0x${flags.toString(16)} in a bucket`);
    const entries: BoltEntry[] = [];
    for (let i = 0; i < count; i++) {
      const element = PAGE_HEADER + i * LEAF_ELEMENT;
      const elementFlags = page.readUInt32LE(element);
      // pos is relative to the element itself.
      const keyStart = element + page.readUInt32LE(element + 4);
      const keyEnd = keyStart + page.readUInt32LE(element + 8);
      const valueEnd = keyEnd + page.readUInt32LE(element + 12);
      if (valueEnd > page.length) throw new BoltFormatError('leaf element past its page');
      entries.push({
        key: page.subarray(keyStart, keyEnd),
        value: page.subarray(keyEnd, valueEnd),
        bucket: (elementFlags & BUCKET_LEAF) !== 0,
      });
    }
    yield entries;
  }

  /** Reads page `id` with its overflow pages (a page plus `overflow` more, contiguous). */
  private async page(id: number): Promise<Buffer> {
    const { pgid } = this.meta;
    if (id < 2 || id >= pgid) throw new BoltFormatError(`page ${id} outside 2..${pgid - 1}`);
    let page = await this.bytes(id, 1);
    const overflow = page.readUInt32LE(12);
    if (overflow > 0) {
      if (id + overflow >= pgid) throw new BoltFormatError(`page ${id} overflows past the high-water mark`);
      page = await this.bytes(id, overflow + 1);
    }
    if (u64(page, 0) !== id) throw new BoltFormatError(`page ${id} says it is page ${u64(page, 0)}`);
    if (page.length < PAGE_HEADER) throw new BoltFormatError(`page ${id} is short`);
    this.pagesRead += overflow + 1;
    return page;
  }

  /**
   * `count` pages from page `id`. Reads ahead a window of pages: a snapshot's pages are laid out mostly in
   * key order, so one read serves many leaves (one read per 4 KB page costs a thread-pool round trip each).
   * Pages handed out share the window's buffer; a new window is allocated, never overwritten.
   */
  private async bytes(id: number, count: number): Promise<Buffer> {
    const { pageSize, pgid } = this.meta;
    const window = this.window;
    if (window && id >= window.first && id + count <= window.first + window.pages) {
      const start = (id - window.first) * pageSize;
      return window.bytes.subarray(start, start + count * pageSize);
    }
    const pages = Math.min(Math.max(count, READ_AHEAD_BYTES / pageSize), pgid - id);
    const bytes = await readAt(this.handle, id * pageSize, pages * pageSize);
    this.window = { first: id, pages, bytes };
    return bytes.subarray(0, count * pageSize);
  }

  private window: { first: number; pages: number; bytes: Buffer } | undefined;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new BoltFormatError(`file ends before byte ${position + length}`);
    done += bytesRead;
  }
  return buffer;
}
