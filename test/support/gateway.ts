// One call to etcd's JSON gateway (POST /v3/...), with the raw auth token in `Authorization` as etcd's
// grpc-gateway takes it: the HTTP status and the JSON body, whatever they are (tests assert them).
import type { Member } from './members';

export interface GatewayAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function gatewayPost(
  member: Member,
  path: string,
  body: object,
  token?: string,
  timeoutMs = 10_000,
): Promise<GatewayAnswer> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
