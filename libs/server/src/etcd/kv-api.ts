// etcd's KV service semantics over a CairnNode: validate, then read locally (after a ReadIndex barrier unless
// serializable) or propose through Raft. Shared by the gRPC service and the JSON gateway.
import type {
  CompactionRequest__Output,
  DeleteRangeRequest__Output,
  PutRequest__Output,
  RangeRequest__Output,
  TxnRequest__Output,
} from '@cairn/api';
import type { CairnNode } from '../node';
import { toEtcdError } from '../applier';
import { checkDelete, checkPut, checkRange, checkTxn } from './validation';
import { proposeAndUnwrap } from './propose';

export class KvApi {
  constructor(
    private readonly node: CairnNode,
    private readonly maxTxnOps: number,
  ) {}

  async range(req: RangeRequest__Output): Promise<object> {
    checkRange(req);
    if (!req.serializable) await this.node.linearizableReadBarrier();
    try {
      return await this.node.reader.range(req);
    } catch (err) {
      throw toEtcdError(err);
    }
  }

  async put(req: PutRequest__Output): Promise<object> {
    checkPut(req);
    await this.node.checkQuota(req.key.length + req.value.length);
    return proposeAndUnwrap(this.node, { put: req });
  }

  deleteRange(req: DeleteRangeRequest__Output): Promise<object> {
    checkDelete(req);
    return proposeAndUnwrap(this.node, { delete_range: req });
  }

  async txn(req: TxnRequest__Output): Promise<object> {
    checkTxn(req, this.maxTxnOps);
    if (!txnWrites(req)) {
      if (!txnAllSerializable(req)) await this.node.linearizableReadBarrier();
      try {
        return await this.node.reader.readOnlyTxn(req);
      } catch (err) {
        throw toEtcdError(err);
      }
    }
    await this.node.checkQuota(0);
    return proposeAndUnwrap(this.node, { txn: req });
  }

  compact(req: CompactionRequest__Output): Promise<object> {
    return proposeAndUnwrap(this.node, { compaction: req });
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
