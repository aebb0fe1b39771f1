// Proposes a request and turns its apply result into the response or the error it carries.
import { toEtcdError } from '../applier';
import type { CairnNode } from '../node';
import type { ProposalBody } from '../proposal';

export async function proposeAndUnwrap(node: CairnNode, body: ProposalBody): Promise<object> {
  const result = await node.propose(body);
  if (result.error) throw toEtcdError(result.error);
  return result.response ?? {};
}
