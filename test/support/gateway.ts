// One call to etcd's JSON gateway (POST /v3/...), with the raw auth token in `Authorization` as etcd's
// grpc-gateway takes it: the HTTP status and the JSON body, whatever they are (tests assert them).
import type { Member } from './members';
import { waitFor } from './wait';

type Json = Record<string, unknown>;

export interface GatewayAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function gatewayPost(
  member: Member,
  path: string,
  /** Sent as JSON; a string is sent as it is (malformed bodies, on purpose). */
  body: unknown,
  options: { token?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<GatewayAnswer> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: options.token } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Record<string, unknown> };
}

/**
 * A streaming gateway call (`/v3/watch`, `/v3/election/observe`, ...): newline-delimited `{"result": ...}`
 * objects, collected as they arrive until close().
 */
export class GatewayStream {
  readonly messages: Json[] = [];
  private readonly controller = new AbortController();
  private reading: Promise<void> = Promise.resolve();
  status = 0;

  async open(member: Member, path: string, body: unknown): Promise<this> {
    const response = await fetch(`${member.clientUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: this.controller.signal,
    });
    this.status = response.status;
    if (!response.body) throw new Error(`${path}: no response body`);
    const reader = response.body.getReader();
    this.reading = this.readAll(reader).catch(() => undefined); // ends with AbortError on close()
    return this;
  }

  private async readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) this.messages.push(JSON.parse(line) as Json);
      }
    }
  }

  /** Waits until at least `count` messages arrived; returns the `result` of each. */
  async results(count: number): Promise<Json[]> {
    await waitFor(() => (this.messages.length >= count ? true : undefined), {
      timeoutMs: 10_000,
      what: `${count} messages on the gateway stream (have ${JSON.stringify(this.messages)})`,
    });
    return this.messages.map((m) => m['result'] as Json);
  }

  /** Waits until the stream carried at least `count` events in all; returns them in order. */
  async events(count: number): Promise<Json[]> {
    const all = () =>
      this.messages.flatMap((m) => ((m['result'] as Json)['events'] as Json[] | undefined) ?? []);
    await waitFor(() => (all().length >= count ? true : undefined), {
      timeoutMs: 10_000,
      what: `${count} events on the gateway stream (have ${JSON.stringify(this.messages)})`,
    });
    return all();
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.reading;
  }
}
