// etcd's KV service semantics over a CairnNode: validate, check the caller's permissions, then read locally
// (after a ReadIndex barrier unless serializable) or propose through Raft (where apply checks the
// permissions again, against the auth revision the request carries). Shared by the gRPC service and the
// JSON gateway.
import type {
  CompactionRequest__Output,
  DeleteRangeRequest__Output,
  PutRequest__Output,
  RangeRequest__Output,
  TxnRequest__Output,
} from '@cairn/api';
import type { CairnNode } from '../node';
import { toEtcdError } from '../applier';
import {
  checkDeletePermitted,
  checkPutPermitted,
  checkRangePermitted,
  checkTxnPermitted,
} from '../auth/request-permissions';
import type { CallContext } from '../port/etcd-port';
import { checkDelete, checkPut, checkRange, checkTxn } from './validation';
import { proposeAndUnwrap } from './propose';

export class KvApi {
  constructor(
    private readonly node: CairnNode,
    private readonly maxTxnOps: number,
  ) {}

  async range(req: RangeRequest__Output, ctx: CallContext): Promise<object> {
    checkRange(req);
    checkRangePermitted(this.node.auth, ctx.identity, req);
    if (!req.serializable) await this.node.linearizableReadBarrier();
    try {
      return await this.node.reader.range(req);
    } catch (err) {
      throw toEtcdError(err);
    }
  }

  async put(req: PutRequest__Output, ctx: CallContext): Promise<object> {
    checkPut(req);
    checkPutPermitted(this.node.auth, ctx.identity, req);
    const cost = req.key.length + req.value.length;
    // Awaited only when over: an await per put costs a promise and a microtask turn.
    if (!this.node.withinQuota(cost)) await this.node.checkQuota(cost);
    return proposeAndUnwrap(this.node, { put: req }, ctx);
  }

  async deleteRange(req: DeleteRangeRequest__Output, ctx: CallContext): Promise<object> {
    checkDelete(req);
    checkDeletePermitted(this.node.auth, ctx.identity, req);
    return proposeAndUnwrap(this.node, { delete_range: req }, ctx);
  }

  async txn(req: TxnRequest__Output, ctx: CallContext): Promise<object> {
    checkTxn(req, this.maxTxnOps);
    checkTxnPermitted(this.node.auth, ctx.identity, req);
    if (!txnWrites(req)) {
      if (!txnAllSerializable(req)) await this.node.linearizableReadBarrier();
      try {
        return await this.node.reader.readOnlyTxn(req);
      } catch (err) {
        throw toEtcdError(err);
      }
    }
    await this.node.checkQuota(0);
    return proposeAndUnwrap(this.node, { txn: req }, ctx);
  }

  async compact(req: CompactionRequest__Output, ctx: CallContext): Promise<object> {
    this.node.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { compaction: req }, ctx);
  }
}

type Ops = TxnRequest__Output['success'];

function anyOp(ops: Ops, test: (op: Ops[number]) => boolean): boolean {
  return ops.some(
    (op) =>
      test(op) ||
      (op.request_txn ? anyOp([...op.request_txn.success, ...op.request_txn.failure], test) : false),
  );
}

function txnWrites(req: TxnRequest__Output): boolean {
  return anyOp([...req.success, ...req.failure], (op) => !!op.request_put || !!op.request_delete_range);
}

function txnAllSerializable(req: TxnRequest__Output): boolean {
  return !anyOp(
    [...req.success, ...req.failure],
    (op) => !!op.request_range && !op.request_range.serializable,
  );
}
