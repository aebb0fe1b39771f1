// The console asks other members for their status over their client URLs. Node's fetch cannot trust a private
// CA per request, so this speaks http/https directly, presenting the member's own TLS material (its CA to
// verify the peer member, its certificate for members that require client certificates).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';

/**
 * The TLS material to dial other members' https client URLs with (read per call: rotation applies);
 * `rejectUnauthorized: false` only for --auto-tls members, whose self-signed certificates nobody can verify
 * (as etcd's own dialers do then).
 */
export type MemberDialOptions = () => Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

export interface MemberAnswer {
  status: number;
  body: unknown;
}

/** One JSON request to another member, bounded by `timeoutMs`. */
export function memberJson(
  url: URL,
  options: {
    method?: 'GET' | 'POST';
    body?: string;
    timeoutMs: number;
    dial?: MemberDialOptions;
    /** Extra request headers (the console forwards its user's Authorization). */
    headers?: Record<string, string>;
  },
): Promise<MemberAnswer> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: {
          ...options.headers,
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        timeout: options.timeoutMs,
        ...(https ? (options.dial?.() ?? {}) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
            });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
