// echo-service: an HTTP server that answers with its instance id and a greeting, and registers itself in
// Cairn's service registry on startup (deregistering on SIGTERM/SIGINT; a SIGKILLed one disappears when
// its lease expires).
//
//   node examples/echo-service/dist/index.js --cairn http://127.0.0.1:2379 --id echo-1 [--port 0]
//     [--service echo] [--namespace default] [--ttl 5] [--greeting hello] [--host 127.0.0.1]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '@cairn/client';

export interface EchoOptions {
  cairn: string;
  id: string;
  service: string;
  namespace: string;
  host: string;
  port: number;
  ttl: number;
  greeting: string;
}

export function parseArgs(argv: string[]): EchoOptions {
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
    id: args.get('id') ?? `echo-${process.pid}`,
    service: args.get('service') ?? 'echo',
    namespace: args.get('namespace') ?? 'default',
    host: args.get('host') ?? '127.0.0.1',
    port: Number(args.get('port') ?? '0'),
    ttl: Number(args.get('ttl') ?? '5'),
    greeting: args.get('greeting') ?? 'hello',
  };
}

export async function startEcho(options: EchoOptions) {
  const state = { greeting: options.greeting, healthy: true };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') {
      res.writeHead(state.healthy ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(state.healthy ? 'ok' : 'unhealthy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: options.id, greeting: state.greeting, method: req.method, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const port = (server.address() as AddressInfo).port;

  const registry = new RegistryClient(options.cairn.split(','), { namespace: options.namespace });
  const registration = await registry.register(
    {
      service: options.service,
      id: options.id,
      address: { host: options.host, port, scheme: 'http' },
      metadata: { pid: String(process.pid) },
      version: '1.0.0',
    },
    { ttl: options.ttl, deregisterOnSignals: true },
  );
  registration.on('lost', () => process.stdout.write(`echo ${options.id}: lease lost, registering again\n`));
  return {
    port,
    state,
    registration,
    async close() {
      await registry.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (require.main === module) {
  const options = parseArgs(process.argv.slice(2));
  startEcho(options).then(
    (echo) =>
      process.stdout.write(
        `echo ${options.id} listening on http://${options.host}:${echo.port} (service ${options.service}, lease ${echo.registration.lease}, ttl ${echo.registration.ttl}s)\n`,
      ),
    (err: unknown) => {
      process.stderr.write(`echo ${options.id}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
