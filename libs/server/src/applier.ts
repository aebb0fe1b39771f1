// Applies one committed InternalRaftRequest to the state machine (etcd's applierV3): every member runs the
// same code on the same entries in the same order, so it must be deterministic: no clock, no randomness.
import { type EtcdError, type EtcdErrorCode, type InternalRaftRequest__Output, etcdError } from '@cairn/api';
import {
  CURRENT_DATA_FORMAT,
  type DeleteRangeResult,
  type KvStore,
  LeaseError,
  type LeaseStore,
  MvccError,
  type PutResult,
  type TxnResult,
} from '@cairn/mvcc';
import type { BackendBatch } from '@cairn/storage';
import { type Alarm, AlarmKind, type AlarmStore } from './alarms';
import {
  toDeleteRangeRequest,
  toPutRequest,
  toRangeRequest,
  toTxnRequest,
  wireDeleteRange,
  wirePut,
  wireRange,
  wireTxn,
  type HeaderFactory,
} from './kv-codec';
import type { MemberStore } from './members';
import { applyAuthRequest, isAuthRequest } from './auth/auth-apply';
import type { AuthStore } from './auth/auth-store';
import { subjectOfHeader } from './auth/entry-subject';
import {
  checkDeletePermitted,
  checkLeaseRevokePermitted,
  checkPutPermitted,
  checkTxnPermitted,
} from './auth/request-permissions';
import type { TokenProvider } from './auth/token-provider';

/** The applied outcome in the store's own types, for in-process callers (the EtcdPort). */
export type AppliedValue =
  | { kind: 'put'; result: PutResult }
  | { kind: 'deleteRange'; result: DeleteRangeResult }
  | { kind: 'txn'; result: TxnResult }
  | { kind: 'leaseGrant'; id: bigint; ttl: number; revision: number }
  | { kind: 'leaseGrantTxn'; id: bigint; ttl: number; result: TxnResult }
  | { kind: 'revision'; revision: number };

export interface ApplyResult {
  /** The wire response (proto-loader input shape) for the proposer's client. */
  response?: object;
  value?: AppliedValue;
  error?: Error;
  /** Resolves when a physical compaction finished (Compact with physical=true waits for it). */
  physicalCompaction?: Promise<void>;
}

export interface ApplierDeps {
  kv: KvStore;
  leases: LeaseStore;
  alarms: AlarmStore;
  members: MemberStore;
  /** Checked at apply with the entry header's user and auth revision, as etcd's authApplierV3. */
  auth: AuthStore;
  /** Assigns the tokens of applied Authenticate entries (none in a bare test store). */
  tokens?: TokenProvider;
  header: HeaderFactory;
  /**
   * An applied KV write moved the store to `revision`, made by `user` (the entry header's; '' with auth off
   * and for the member's own duties). The audit archive attributes changes with it.
   */
  onWrite?: (revision: number, user: string) => void;
  /** A member's peer URLs changed (MemberUpdate): the transport must dial the new ones. */
  onPeerUrlsChanged?: (id: bigint, urls: string[]) => void;
}

const MVCC_TO_ETCD: Record<string, EtcdErrorCode> = {
  compacted: 'compacted',
  'future-revision': 'future-revision',
  'key-not-found': 'key-not-found',
  'value-provided': 'value-provided',
  'lease-provided': 'lease-provided',
  'lease-not-found': 'lease-not-found',
  'duplicate-key': 'duplicate-key',
  'too-many-ops': 'too-many-ops',
  closed: 'stopped',
};

const LEASE_TO_ETCD: Record<string, EtcdErrorCode> = {
  'lease-not-found': 'lease-not-found',
  'lease-exists': 'lease-exist',
  'ttl-too-large': 'lease-ttl-too-large',
  'not-primary': 'not-leader',
};

/** Maps the store layers' errors to etcd's errors; anything else passes through unchanged. */
export function toEtcdError(err: unknown): unknown {
  if (err instanceof MvccError && MVCC_TO_ETCD[err.code]) return etcdError(MVCC_TO_ETCD[err.code], err);
  if (err instanceof LeaseError && LEASE_TO_ETCD[err.code]) return etcdError(LEASE_TO_ETCD[err.code], err);
  return err;
}

export class Applier {
  constructor(private readonly deps: ApplierDeps) {}

  /** Reads at this member's applied state (sync when at the current revision). */
  range(req: Parameters<typeof toRangeRequest>[0]): object | Promise<object> {
    const result = this.deps.kv.range(toRangeRequest(req));
    if (result instanceof Promise) return result.then((r) => wireRange(r, this.deps.header));
    return wireRange(result, this.deps.header);
  }

  /** A txn without writes, served like a read (no proposal). */
  readOnlyTxn(req: Parameters<typeof toTxnRequest>[0]): Promise<object> {
    // A txn with no writes never stages anything; a throwaway batch keeps the store's API uniform.
    return Promise.resolve(this.deps.kv.applyTxn(toTxnRequest(req), READ_ONLY_BATCH)).then((r) =>
      wireTxn(r, this.deps.header),
    );
  }

  /** Applies one committed request; `index` is its Raft entry's (0 where there is none). */
  apply(
    req: InternalRaftRequest__Output,
    batch: BackendBatch,
    index = 0,
  ): ApplyResult | Promise<ApplyResult> {
    const revisionBefore = this.deps.kv.currentRevision;
    const noteWriter = (result: ApplyResult): ApplyResult => {
      const revision = this.deps.kv.currentRevision;
      if (revision !== revisionBefore && !result.error)
        this.deps.onWrite?.(revision, req.header?.username ?? '');
      return result;
    };
    try {
      const outcome = this.applyRequest(req, batch, index);
      if (outcome instanceof Promise) {
        return outcome.then(noteWriter, (err: unknown) => ({ error: toEtcdError(err) as Error }));
      }
      return noteWriter(outcome);
    } catch (err) {
      return { error: toEtcdError(err) as Error };
    }
  }

  private applyRequest(
    req: InternalRaftRequest__Output,
    batch: BackendBatch,
    index: number,
  ): ApplyResult | Promise<ApplyResult> {
    const { kv, leases, alarms, header, auth } = this.deps;
    const subject = subjectOfHeader(req.header);
    if (isAuthRequest(req)) {
      const response = applyAuthRequest(
        auth,
        this.deps.tokens,
        req,
        batch,
        subject,
        header,
        kv.currentRevision,
        index,
      );
      return { response };
    }
    // etcd's applierV3Corrupt: while CORRUPT is raised, KV writes, compaction and lease grant/revoke fail.
    if (alarms.has(AlarmKind.Corrupt) && REFUSED_WHEN_CORRUPT.has(req.request ?? '')) {
      return { error: etcdError('corrupt') };
    }
    switch (req.request) {
      case 'put': {
        checkPutPermitted(auth, subject, req.put!);
        if (alarms.has(AlarmKind.NoSpace)) return { error: etcdError('no-space') };
        const result = kv.put(toPutRequest(req.put!), batch);
        return { response: wirePut(result, header), value: { kind: 'put', result } };
      }
      case 'delete_range': {
        checkDeletePermitted(auth, subject, req.delete_range!);
        const result = kv.deleteRange(toDeleteRangeRequest(req.delete_range!), batch);
        return { response: wireDeleteRange(result, header), value: { kind: 'deleteRange', result } };
      }
      case 'txn': {
        checkTxnPermitted(auth, subject, req.txn!);
        const txn = toTxnRequest(req.txn!);
        if (alarms.has(AlarmKind.NoSpace) && txnHasPuts(txn)) return { error: etcdError('no-space') };
        const applied = kv.applyTxn(txn, batch);
        const answer = (result: TxnResult): ApplyResult => ({
          response: wireTxn(result, header),
          value: { kind: 'txn', result },
        });
        return applied instanceof Promise ? applied.then(answer) : answer(applied);
      }
      case 'compaction': {
        auth.checkAdmin(subject);
        const revision = Number(req.compaction!.revision);
        const { done } = kv.compact(revision, batch);
        const response = { header: header(kv.currentRevision) };
        return req.compaction!.physical ? { response, physicalCompaction: done } : { response };
      }
      case 'lease_grant': {
        if (alarms.has(AlarmKind.NoSpace)) return { error: etcdError('no-space') };
        const lease = leases.grant(BigInt(req.lease_grant!.ID), Number(req.lease_grant!.TTL), batch);
        const revision = kv.currentRevision;
        return {
          response: { header: header(revision), ID: lease.id.toString(), TTL: lease.ttl, error: '' },
          value: { kind: 'leaseGrant', id: lease.id, ttl: lease.ttl, revision },
        };
      }
      case 'lease_grant_txn':
        return this.applyLeaseGrantTxn(req.lease_grant_txn!, subject, batch);
      case 'lease_revoke': {
        checkLeaseRevokePermitted(auth, subject, leases.lookup(BigInt(req.lease_revoke!.ID))?.keys() ?? []);
        const keys = leases.revoke(BigInt(req.lease_revoke!.ID), batch);
        if (keys.length > 0) kv.deleteKeys(keys, batch);
        const revision = kv.currentRevision;
        return { response: { header: header(revision) }, value: { kind: 'revision', revision } };
      }
      case 'lease_checkpoint': {
        for (const checkpoint of req.lease_checkpoint!.checkpoints) {
          leases.checkpoint(BigInt(checkpoint.ID), Number(checkpoint.remaining_TTL), batch);
        }
        return { response: { header: header(kv.currentRevision) } };
      }
      case 'alarm':
        auth.checkAdmin(subject);
        return { response: this.applyAlarm(req.alarm!, batch) };
      case 'member_attr_set': {
        const attr = req.member_attr_set!;
        const member = this.deps.members.get(BigInt(attr.member_ID));
        if (member)
          this.deps.members.upsert(
            {
              ...member,
              name: attr.name,
              clientUrls: attr.client_urls,
              dataFormat: attr.data_format || undefined,
              cairnVersion: attr.cairn_version || undefined,
            },
            batch,
          );
        return { response: {} };
      }
      case 'data_format_set': {
        const format = req.data_format_set!.format;
        if (format > CURRENT_DATA_FORMAT) return { error: etcdError('not-capable') };
        kv.upgradeDataFormat(format, batch);
        return { response: { header: header(kv.currentRevision) } };
      }
      case 'member_update': {
        const update = req.member_update!;
        const id = BigInt(update.ID);
        const member = this.deps.members.get(id);
        if (!member) return { error: etcdError('member-not-found') };
        this.deps.members.upsert({ ...member, peerUrls: update.peerURLs }, batch);
        this.deps.onPeerUrlsChanged?.(id, update.peerURLs);
        return { response: {} };
      }
      default:
        return { error: etcdError('not-capable') };
    }
  }

  /**
   * A lease grant and the txn that attaches keys to it, as one entry (the registry's registration): the
   * lease is granted first so the txn's puts may name it, and revoked again in the same apply when the txn
   * does not succeed, so a failed registration leaves no lease on any member.
   */
  private applyLeaseGrantTxn(
    req: NonNullable<InternalRaftRequest__Output['lease_grant_txn']>,
    subject: ReturnType<typeof subjectOfHeader>,
    batch: BackendBatch,
  ): ApplyResult | Promise<ApplyResult> {
    const { kv, leases, alarms, header, auth } = this.deps;
    checkTxnPermitted(auth, subject, req.txn!);
    if (alarms.has(AlarmKind.NoSpace)) return { error: etcdError('no-space') };
    const lease = leases.grant(BigInt(req.lease_grant!.ID), Number(req.lease_grant!.TTL), batch);
    const undo = (): void => {
      // The failure branch never names the lease (the proposer refuses it): it holds no keys here.
      leases.revoke(lease.id, batch);
    };
    const answer = (result: TxnResult): ApplyResult => {
      if (!result.succeeded) undo();
      return {
        response: wireTxn(result, header),
        value: { kind: 'leaseGrantTxn', id: lease.id, ttl: lease.ttl, result },
      };
    };
    let applied: TxnResult | Promise<TxnResult>;
    try {
      applied = kv.applyTxn(toTxnRequest(req.txn!), batch);
    } catch (err) {
      undo();
      throw err;
    }
    if (!(applied instanceof Promise)) return answer(applied);
    return applied.then(answer, (err: unknown) => {
      undo();
      throw err;
    });
  }

  private applyAlarm(req: NonNullable<InternalRaftRequest__Output['alarm']>, batch: BackendBatch): object {
    const { alarms, header, kv } = this.deps;
    const alarm: Alarm = { memberId: BigInt(req.memberID), alarm: req.alarm as AlarmKind };
    const changed: Alarm[] = [];
    switch (req.action as number) {
      case 0: // GET
        break;
      case 1: // ACTIVATE
        if (alarm.alarm !== AlarmKind.None && alarms.activate(alarm, batch)) changed.push(alarm);
        break;
      case 2: // DEACTIVATE
        if (alarms.deactivate(alarm, batch)) changed.push(alarm);
        break;
    }
    const listed = req.action === 0 ? alarms.list() : changed;
    return {
      header: header(kv.currentRevision),
      alarms: listed.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })),
    };
  }
}

// Requests etcd's applierV3Corrupt refuses (reads and read-only txns never reach the applier).
const REFUSED_WHEN_CORRUPT = new Set([
  'put',
  'delete_range',
  'txn',
  'compaction',
  'lease_grant',
  'lease_revoke',
  'lease_grant_txn',
]);

/**
 * The batch a txn without writes is run with (read-only txns are served like reads): it never stages
 * anything, and keeps the store's API uniform.
 */
export const READ_ONLY_BATCH = { put: () => undefined, del: () => undefined } as unknown as BackendBatch;

function txnHasPuts(txn: ReturnType<typeof toTxnRequest>): boolean {
  const ops = [...(txn.success ?? []), ...(txn.failure ?? [])];
  return ops.some((op) => 'put' in op || ('txn' in op && txnHasPuts(op.txn)));
}

export type { EtcdError };
