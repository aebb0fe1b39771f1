// The archive's database through TypeORM: SQLite (better-sqlite3) or PostgreSQL (pg). Writes are
// batched, one transaction per batch together with the member's cursor, and idempotent: a row's
// primary key is (archive, rev_main, rev_sub) and inserts ignore rows that exist, so a replay after a
// crash, or several members sharing one PostgreSQL database, never write a revision twice.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { prefixEnd } from '@cairn/api';
import { DataSource, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import {
  type AuditCursorRow,
  type AuditEntities,
  type AuditEventRow,
  type AuditGapRow,
  EVENT_TABLE,
  auditEntities,
} from './entities';
import { AUDIT_SCHEMA_VERSION, schemaStatements } from './schema';
import type { AuditBackendKind, AuditOrder } from './types';

export interface AuditStoreOptions {
  /** `postgres://...` (or `postgresql://`) selects PostgreSQL; otherwise SQLite at `sqlitePath`. */
  url?: string;
  sqlitePath: string;
  /** Rows are stored under this archive name (the cluster ID): one database can hold several. */
  archive: string;
  member: string;
}

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;
/** Rows per INSERT statement (SQLite and PostgreSQL both cap bound parameters). */
const ROWS_PER_INSERT = 400;
/** cairn_audit_event's columns in the order eventParameters() lists them. */
const EVENT_COLUMNS = [
  'archive',
  'rev_main',
  'rev_sub',
  'key',
  'op',
  'value',
  'value_stored',
  'value_sha256',
  'value_size',
  'create_revision',
  'version',
  'lease',
  'actor',
  'observed_at_ms',
  'replayed',
  'member',
];

export function backendKindOf(url: string | undefined): AuditBackendKind {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export interface QueryRange {
  fromRevision?: number;
  toRevision?: number;
  limit?: number;
  order?: AuditOrder;
}

export interface ListQuery extends QueryRange {
  key?: Buffer;
  actor?: string;
  prefix?: Buffer;
  /** Strictly after (asc) / before (desc) this position. */
  after?: { main: number; sub: number };
}

export interface WriteBatch {
  rows: AuditEventRow[];
  /** Actors noted by writers for revisions that may already be stored. */
  actors: Map<number, string>;
  gaps: AuditGapRow[];
  /** The member's new cursor, if it moved. */
  cursor?: number;
}

export class AuditStore {
  private constructor(
    readonly kind: AuditBackendKind,
    private readonly ds: DataSource,
    private readonly entities: AuditEntities,
    readonly archive: string,
    readonly member: string,
  ) {}

  static async open(options: AuditStoreOptions): Promise<AuditStore> {
    const kind = backendKindOf(options.url);
    const entities = auditEntities(kind);
    const list = [entities.event, entities.cursor, entities.gap];
    let ds: DataSource;
    if (kind === 'postgres') {
      ds = new DataSource({
        type: 'postgres',
        url: options.url,
        entities: list,
        synchronize: false,
        logging: false,
        extra: { max: 4, connectionTimeoutMillis: 5000 },
      });
    } else {
      mkdirSync(path.dirname(options.sqlitePath), { recursive: true });
      ds = new DataSource({
        type: 'better-sqlite3',
        database: options.sqlitePath,
        entities: list,
        synchronize: false,
        logging: false,
        enableWAL: true,
        timeout: 5000,
      });
    }
    await ds.initialize();
    const store = new AuditStore(kind, ds, entities, options.archive, options.member);
    try {
      await store.createSchema();
    } catch (error) {
      await ds.destroy();
      throw error;
    }
    return store;
  }

  private async createSchema(): Promise<void> {
    await this.ds.transaction(async (manager) => {
      // Members starting at once against one PostgreSQL database: one creates, the others wait.
      if (this.kind === 'postgres') await manager.query(`SELECT pg_advisory_xact_lock(7261636861)`);
      for (const statement of schemaStatements(this.kind)) await manager.query(statement);
      const conflict =
        this.kind === 'postgres' ? 'ON CONFLICT (name) DO NOTHING' : 'ON CONFLICT(name) DO NOTHING';
      await manager.query(
        `INSERT INTO cairn_audit_meta (name, value) VALUES ('schema_version', '${AUDIT_SCHEMA_VERSION}') ${conflict}`,
      );
    });
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }

  /** This member's cursor: every change up to it is stored (0 = nothing yet). */
  async cursor(): Promise<number> {
    const row = await this.ds.manager.findOne(this.entities.cursor, {
      where: { archive: this.archive, member: this.member },
    });
    return row?.lastRevision ?? 0;
  }

  /** Stores one batch atomically: rows (existing ones ignored), actor notes, gaps, the cursor. */
  async write(batch: WriteBatch): Promise<void> {
    await this.ds.transaction(async (manager) => {
      // Hand-built multi-row INSERT (TypeORM's query builder costs more CPU per row than the database
      // does, and it runs on the server's event loop), through the same transaction.
      for (let i = 0; i < batch.rows.length; i += ROWS_PER_INSERT) {
        const rows = batch.rows.slice(i, i + ROWS_PER_INSERT);
        await manager.query(
          this.insertSql(rows.length),
          rows.flatMap((row) => this.eventParameters(row)),
        );
      }
      for (const [revision, actor] of batch.actors) {
        await manager
          .createQueryBuilder()
          .update(this.entities.event)
          .set({ actor })
          .where('archive = :archive AND rev_main = :revision AND actor IS NULL', {
            archive: this.archive,
            revision,
          })
          .updateEntity(false)
          .execute();
      }
      if (batch.gaps.length > 0) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(this.entities.gap)
          .values(batch.gaps)
          .orIgnore()
          .updateEntity(false)
          .execute();
      }
      if (batch.cursor !== undefined) await this.saveCursor(manager, batch.cursor);
    });
  }

  private readonly insertSqlCache = new Map<number, string>();

  private insertSql(rowCount: number): string {
    let sql = this.insertSqlCache.get(rowCount);
    if (sql === undefined) {
      const width = EVENT_COLUMNS.length;
      const tuples: string[] = [];
      for (let r = 0; r < rowCount; r++) {
        const marks: string[] = [];
        for (let c = 0; c < width; c++) marks.push(this.kind === 'postgres' ? `$${r * width + c + 1}` : '?');
        tuples.push(`(${marks.join(', ')})`);
      }
      sql = `INSERT INTO ${EVENT_TABLE} (${EVENT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`;
      if (rowCount === ROWS_PER_INSERT || rowCount <= 64) this.insertSqlCache.set(rowCount, sql);
    }
    return sql;
  }

  /** One row's values in EVENT_COLUMNS order. */
  private eventParameters(row: AuditEventRow): unknown[] {
    const bool = (value: boolean): boolean | number => (this.kind === 'postgres' ? value : value ? 1 : 0);
    return [
      row.archive,
      row.revMain,
      row.revSub,
      row.key,
      row.op,
      row.value,
      bool(row.valueStored),
      row.valueSha256,
      row.valueSize,
      row.createRevision,
      row.version,
      row.lease,
      row.actor,
      row.observedAtMs,
      bool(row.replayed),
      row.member,
    ];
  }

  private async saveCursor(manager: EntityManager, lastRevision: number): Promise<void> {
    const row: AuditCursorRow = {
      archive: this.archive,
      member: this.member,
      lastRevision,
      updatedAtMs: Date.now(),
    };
    await manager
      .createQueryBuilder()
      .insert()
      .into(this.entities.cursor)
      .values(row)
      .orUpdate(['last_revision', 'updated_at_ms'], ['archive', 'member'])
      .updateEntity(false)
      .execute();
  }

  private events(): SelectQueryBuilder<AuditEventRow> {
    return this.ds.manager
      .createQueryBuilder(this.entities.event, 'e')
      .where('e.archive = :archive', { archive: this.archive });
  }

  async history(key: Buffer, range: QueryRange): Promise<AuditEventRow[]> {
    const query = this.events().andWhere('e.key = :key', { key });
    applyRange(query, range);
    const direction = range.order === 'asc' ? 'ASC' : 'DESC';
    return query
      .orderBy('e.rev_main', direction)
      .addOrderBy('e.rev_sub', direction)
      .limit(pageSize(range.limit))
      .getMany();
  }

  async eventAt(key: Buffer, revision: number): Promise<AuditEventRow | undefined> {
    const row = await this.events()
      .andWhere('e.key = :key AND e.rev_main = :revision', { key, revision })
      .orderBy('e.rev_sub', 'DESC')
      .getOne();
    return row ?? undefined;
  }

  async valueAsOf(key: Buffer, revision: number): Promise<AuditEventRow | undefined> {
    const row = await this.events()
      .andWhere('e.key = :key AND e.rev_main <= :revision', { key, revision })
      .orderBy('e.rev_main', 'DESC')
      .addOrderBy('e.rev_sub', 'DESC')
      .getOne();
    return row ?? undefined;
  }

  async list(query: ListQuery): Promise<{ rows: AuditEventRow[]; more: boolean }> {
    const select = this.events();
    if (query.key) {
      select.andWhere('e.key = :key', { key: query.key });
    } else if (query.prefix && query.prefix.length > 0) {
      select.andWhere('e.key >= :prefix', { prefix: query.prefix });
      const end = prefixEnd(query.prefix);
      // "\0" = no end (a prefix of only 0xff bytes): every key from the prefix on.
      if (!(end.length === 1 && end[0] === 0)) select.andWhere('e.key < :prefixEnd', { prefixEnd: end });
    }
    if (query.actor !== undefined) select.andWhere('e.actor = :actor', { actor: query.actor });
    applyRange(select, query);
    const desc = query.order === 'desc';
    if (query.after) {
      const op = desc ? '<' : '>';
      select.andWhere(
        `(e.rev_main ${op} :afterMain OR (e.rev_main = :afterMain AND e.rev_sub ${op} :afterSub))`,
        { afterMain: query.after.main, afterSub: query.after.sub },
      );
    }
    const limit = pageSize(query.limit);
    const direction = desc ? 'DESC' : 'ASC';
    const rows = await select
      .orderBy('e.rev_main', direction)
      .addOrderBy('e.rev_sub', direction)
      .limit(limit + 1)
      .getMany();
    const more = rows.length > limit;
    return { rows: more ? rows.slice(0, limit) : rows, more };
  }

  async gaps(): Promise<AuditGapRow[]> {
    return this.ds.manager.find(this.entities.gap, {
      where: { archive: this.archive },
      order: { fromRevision: 'ASC' },
    });
  }

  /** Raw SQL for tests and diagnostics (`?` placeholders on SQLite, `$1` on PostgreSQL). */
  query<T = unknown>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    return this.ds.query<T[]>(sql, parameters);
  }
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return DEFAULT_PAGE;
  return Math.min(MAX_PAGE, Math.floor(limit));
}

function applyRange(query: SelectQueryBuilder<AuditEventRow>, range: QueryRange): void {
  if (range.fromRevision !== undefined) query.andWhere('e.rev_main >= :from', { from: range.fromRevision });
  if (range.toRevision !== undefined) query.andWhere('e.rev_main <= :to', { to: range.toRevision });
}
