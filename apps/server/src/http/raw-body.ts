// Reads a request body whatever its Content-Type (curl -d sends form encoding; etcd's gateway reads JSON
// regardless), bounded by the member's request size limit.
import type { IncomingMessage } from 'node:http';
import { etcdError } from '@cairn/api';
import { callContextOf, readBodyWithin } from '@cairn/edge';

/** Where the body guard (http-guards.middleware.ts) leaves a body it already read, bounded and checked. */
export const RAW_BODY = Symbol.for('cairn.rawBody');

export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const read = (req as IncomingMessage & { [RAW_BODY]?: Buffer })[RAW_BODY];
  if (read !== undefined) return read;
  // The body must arrive by the call's deadline (the pipeline's: the server's unary bound or the client's).
  const deadline = callContextOf(req).deadline;
  if (deadline !== undefined) {
    return readBodyWithin(req, limit, deadline - Date.now(), () => etcdError('request-too-large'));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw etcdError('request-too-large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** One JSON object of a request body; malformed JSON is the client's error (InvalidArgument, as grpc-gateway). */
function parseJsonObject(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // A gRPC status (InvalidArgument) the gateway's error mapping answers as it is.
    throw { code: 3, details: err instanceof Error ? err.message : String(err) };
  }
}

/** Splits a body holding one or more concatenated JSON objects (bidi gateway calls). */
export function parseJsonObjects(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      out.push(parseJsonObject(text.slice(start, i + 1)));
    }
  }
  if (out.length === 0 && text.trim() === '') out.push({});
  return out;
}
