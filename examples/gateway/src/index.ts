// gateway: a small HTTP reverse proxy that round-robins over the live healthy instances of one service,
// followed through Cairn's registry SDK (a range + resumable watch; a dead instance leaves the rotation
// as soon as the registry drops it).
//
//   node examples/gateway/dist/index.js --cairn http://127.0.0.1:2379 [--service echo] [--port 8080]
//     [--namespace default] [--host 127.0.0.1]
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient, type RegistryInstance } from '@cairn/client';

export interface GatewayOptions {
  cairn: string;
  service: string;
  namespace: string;
  host: string;
  port: number;
}

export function parseArgs(argv: string[]): GatewayOptions {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq > 0) args.set(arg.slice(2, eq), arg.slice(eq + 1));
    else args.set(arg.slice(2), argv[++i] ?? '');
  }
  return {
    cairn: args.get('cairn') ?? process.env['CAIRN_ENDPOINTS'] ?? 'http://127.0.0.1:2379',
    service: args.get('service') ?? 'echo',
    namespace: args.get('namespace') ?? 'default',
    host: args.get('host') ?? '127.0.0.1',
    port: Number(args.get('port') ?? '8080'),
  };
}

export async function startGateway(options: GatewayOptions) {
  const registry = new RegistryClient(options.cairn.split(','), { namespace: options.namespace });
  const subscription = registry.subscribe(options.service, { healthyOnly: true, emptyProtectionMs: 0 });
  await subscription.ready();
  let next = 0;

  const pick = (): RegistryInstance | undefined => {
    const list = subscription.instances();
    if (list.length === 0) return undefined;
    return list[next++ % list.length];
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, tries: number): void => {
    const upstream = pick();
    if (!upstream) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no healthy instance of ${options.service}` }));
      return;
    }
    const proxied = request(
      {
        host: upstream.address.host,
        port: upstream.address.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `${upstream.address.host}:${upstream.address.port}` },
        timeout: 5000,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, {
          ...upstreamRes.headers,
          'x-cairn-upstream': upstream.id,
        });
        upstreamRes.pipe(res);
      },
    );
    proxied.on('error', () => {
      // The instance died between two registry updates: try the next one.
      if (tries > 1 && !res.headersSent) forward(req, res, body, tries - 1);
      else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `upstream ${upstream.id} failed` }));
      }
    });
    proxied.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 3));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const port = (server.address() as AddressInfo).port;
  subscription.on('update', () =>
    process.stdout.write(
      `gateway: ${options.service} -> [${subscription
        .instances()
        .map((i) => `${i.id}@${i.address.host}:${i.address.port}`)
        .join(', ')}]\n`,
    ),
  );
  return {
    port,
    subscription,
    async close() {
      await registry.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (require.main === module) {
  const options = parseArgs(process.argv.slice(2));
  startGateway(options).then(
    (gateway) => {
      process.stdout.write(
        `gateway listening on http://${options.host}:${gateway.port} -> service ${options.service} (${gateway.subscription.instances().length} instances)\n`,
      );
      const stop = () => void gateway.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: unknown) => {
      process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
