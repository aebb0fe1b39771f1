// Proposes a request and turns its apply result into the response or the error it carries.
import { toEtcdError } from '../applier';
import type { CairnNode } from '../node';
import type { ProposalBody } from '../proposal';
import type { CallContext } from '../port/etcd-port';

/** Proposes on behalf of the call's identity (its permissions are checked again at apply). */
export async function proposeAndUnwrap(
  node: CairnNode,
  body: ProposalBody,
  ctx: CallContext,
): Promise<object> {
  const result = await node.propose(body, ctx.identity);
  if (result.error) throw toEtcdError(result.error);
  return result.response ?? {};
}
