// Proposes a request and turns its apply result into the response or the error it carries.
import { toEtcdError } from '../applier';
import type { CairnNode } from '../node';
import type { ProposalBody } from '../proposal';
import type { ApplyResult } from '../applier';
import type { CallContext } from '../port/etcd-port';

/** Proposes on behalf of the call's identity (its permissions are checked again at apply). */
export function proposeAndUnwrap(node: CairnNode, body: ProposalBody, ctx: CallContext): Promise<object> {
  return node.propose(body, ctx.identity).then(unwrap);
}

function unwrap(result: ApplyResult): object {
  if (result.error) throw toEtcdError(result.error);
  return result.response ?? {};
}
