// echo-service: an HTTP server that answers with its instance id and a greeting, and registers itself in
// Cairn's service registry on startup (deregistering on SIGTERM/SIGINT; a SIGKILLed one disappears when
// its lease expires). Its greeting is hot-reloaded from the config center: the `greeting` of the item
// <config-item> (default echo.yaml) of app <service> in <namespace>, applied without a restart.
//
//   node examples/echo-service/dist/index.js --cairn http://127.0.0.1:2379 --id echo-1 [--port 0]
//     [--service echo] [--namespace default] [--ttl 5] [--greeting hello] [--host 127.0.0.1]
//     [--config-item echo.yaml] [--labels zone=eu-1,canary=true]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigClient, RegistryClient } from '@cairn/client';

export interface EchoOptions {
  cairn: string;
  id: string;
  service: string;
  namespace: string;
  host: string;
  port: number;
  ttl: number;
  greeting: string;
  /** Config item (of app `service` in `namespace`) whose `greeting` replaces the default, live. */
  configItem: string;
  /** Labels for gray releases, e.g. zone=eu-1,canary=true. */
  labels: Record<string, string>;
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
    configItem: args.get('config-item') ?? 'echo.yaml',
    labels: Object.fromEntries(
      (args.get('labels') ?? '')
        .split(',')
        .filter((pair) => pair.includes('='))
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  };
}

/** The greeting in a config value: `greeting:` of a yaml/json/properties item, or a text item itself. */
export function greetingOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (value && typeof value === 'object' && typeof (value as { greeting?: unknown }).greeting === 'string') {
    return (value as { greeting: string }).greeting;
  }
  return undefined;
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
  // Hot reload: subscribe to the app's config; every publish that applies here replaces the greeting.
  const config = new ConfigClient(options.cairn.split(','));
  const subscription = await config
    .subscribe(options.namespace, options.service, {
      labels: options.labels,
      subscriberId: options.id,
      startTimeoutMs: 3000,
    })
    .catch((err: unknown) => {
      process.stdout.write(`echo ${options.id}: config unavailable (${String(err)}), keeping --greeting\n`);
      return undefined;
    });
  const applyGreeting = (): void => {
    const greeting = greetingOf(subscription?.get(options.configItem));
    state.greeting = greeting ?? options.greeting;
  };
  applyGreeting();
  subscription?.on('change', (change) => {
    if (change.name !== options.configItem) return;
    applyGreeting();
    process.stdout.write(`echo ${options.id}: greeting is now "${state.greeting}" (v${change.newVersion})\n`);
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
      config.close();
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
        `echo ${options.id} listening on http://${options.host}:${echo.port} (pid ${process.pid}, service ${options.service}, lease ${echo.registration.lease}, ttl ${echo.registration.ttl}s)\n`,
      ),
    (err: unknown) => {
      process.stderr.write(`echo ${options.id}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
