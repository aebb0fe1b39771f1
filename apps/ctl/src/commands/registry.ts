// `cairnctl registry ...`: the service registry over its REST API (docs/registry.md): list namespaces,
// services and instances, register (optionally kept alive until Ctrl-C), drain, deregister, and watch live.
import {
  type CommandSpec,
  type Context,
  ExitCode,
  type FlagSpec,
  type ParsedArgs,
  UsageError,
} from '../command';
import { renderYaml } from '../output';
import { guarded, parsePairs, restClient } from './rest/context';
import { type Instance, type RegisterBody, RegistryApi } from './registry/api';
import { INSTANCE_COLUMNS, describeInstance, watchLines } from './registry/format';

const NAMESPACE_FLAG: FlagSpec = {
  name: 'namespace',
  short: 'n',
  type: 'string',
  default: 'default',
  help: 'registry namespace',
  valueName: 'NS',
};

async function api(ctx: Context): Promise<RegistryApi> {
  return new RegistryApi(await restClient(ctx));
}

const ns = (args: ParsedArgs): string => args.flags['namespace'] as string;
const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.flags[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

const namespaces: CommandSpec = {
  name: 'namespaces',
  summary: 'List the namespaces that have instances',
  args: { max: 0 },
  permission: 'read on /cairn/registry/ (prefix)',
  run: (ctx) =>
    guarded(async () => {
      const answer = await (await api(ctx)).namespaces();
      ctx.print(
        answer.namespaces.map((name) => ({ name })),
        { raw: answer, columns: [{ header: 'namespace', get: (r) => r.name, align: 'left' }] },
      );
      return ExitCode.Success;
    }),
};

const services: CommandSpec = {
  name: 'services',
  summary: 'List the services of a namespace with healthy/total instance counts',
  args: { max: 0 },
  run: (ctx, args) =>
    guarded(async () => {
      const answer = await (await api(ctx)).services(ns(args));
      ctx.print(answer.services, {
        raw: answer,
        columns: [
          { header: 'service', get: (s) => s.name, align: 'left' },
          { header: 'healthy', get: (s) => s.healthy },
          { header: 'total', get: (s) => s.total },
        ],
      });
      return ExitCode.Success;
    }),
};

const instances: CommandSpec = {
  name: 'instances',
  summary: 'List the instances of a service',
  usage: 'SERVICE [--health passing|warning|critical] [--tag T] [--zone Z] [--metadata k=v,...]',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'health', type: 'string', choices: ['passing', 'warning', 'critical'], help: 'only this health' },
    { name: 'tag', type: 'string', help: 'only instances with this tag' },
    { name: 'zone', type: 'string', help: 'only instances in this zone' },
    {
      name: 'metadata',
      type: 'strings',
      help: 'only instances whose metadata has every k=v',
      valueName: 'K=V,...',
    },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const metadata = Object.entries(parsePairs(args.flags['metadata'] as string[] | undefined, 'metadata'))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const answer = await (
        await api(ctx)
      ).instances(ns(args), args.positionals[0]!, {
        health: str(args, 'health'),
        tag: str(args, 'tag'),
        zone: str(args, 'zone'),
        metadata: metadata || undefined,
      });
      ctx.print<Instance>(answer.instances, { raw: answer, columns: INSTANCE_COLUMNS });
      return ExitCode.Success;
    }),
};

const get: CommandSpec = {
  name: 'get',
  summary: 'Show one instance',
  usage: 'SERVICE ID',
  args: { min: 2, max: 2 },
  run: (ctx, args) =>
    guarded(async () => {
      const instance = await (await api(ctx)).get(ns(args), args.positionals[0]!, args.positionals[1]!);
      if (ctx.output === 'json' || ctx.output === 'yaml') ctx.print(instance);
      else ctx.stdout.write(describeInstance(instance));
      return ExitCode.Success;
    }),
};

/** `host:port` → the address; a usage error otherwise. */
export function parseAddress(text: string, scheme: string | undefined): RegisterBody['address'] {
  const colon = text.lastIndexOf(':');
  const host = colon > 0 ? text.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : '';
  const port = Number(text.slice(colon + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--address "${text}" is not HOST:PORT (port 1..65535)`);
  return { host, port, ...(scheme ? { scheme } : {}) };
}

const register: CommandSpec = {
  name: 'register',
  summary: 'Register (or re-register) an instance; --keep-alive holds it until Ctrl-C',
  usage: 'SERVICE ID --address HOST:PORT [--ttl S] [--keep-alive] ...',
  description:
    'The instance lives on its own lease of --ttl seconds: without --keep-alive it disappears after the TTL\n' +
    'unless something heartbeats it. With --keep-alive cairnctl heartbeats every TTL/3 until Ctrl-C, then\n' +
    'deregisters it (--keep-registered leaves it to expire instead).',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'address', type: 'string', required: true, help: 'the instance address', valueName: 'HOST:PORT' },
    { name: 'scheme', type: 'string', help: 'http (default), https, grpc, tcp...' },
    { name: 'ttl', type: 'number', default: 10, help: 'lease TTL in seconds (1..3600)' },
    { name: 'metadata', type: 'strings', help: 'metadata pairs', valueName: 'K=V,...' },
    { name: 'tags', type: 'strings', help: 'tags', valueName: 'T,...' },
    { name: 'weight', type: 'number', help: 'routing weight (0..10000, default 1)' },
    { name: 'zone', type: 'string', help: 'zone' },
    { name: 'version', type: 'string', help: 'the instance version' },
    {
      name: 'status',
      type: 'string',
      choices: ['UP', 'DRAINING', 'DOWN'],
      help: 'initial status (default UP)',
    },
    {
      name: 'check-http',
      type: 'string',
      help: 'server-side HTTP health check of this path or URL',
      valueName: 'PATH',
    },
    {
      name: 'check-tcp',
      type: 'boolean',
      default: false,
      help: 'server-side TCP health check of the address',
    },
    { name: 'check-interval', type: 'duration', default: '10s', help: 'health check interval' },
    { name: 'keep-alive', type: 'boolean', default: false, help: 'heartbeat until Ctrl-C, then deregister' },
    {
      name: 'keep-registered',
      type: 'boolean',
      default: false,
      help: 'with --keep-alive: on Ctrl-C let the lease expire',
    },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const [service, id] = args.positionals as [string, string];
      const body: RegisterBody = {
        address: parseAddress(args.flags['address'] as string, str(args, 'scheme')),
        ttl: args.flags['ttl'] as number,
      };
      const metadata = parsePairs(args.flags['metadata'] as string[] | undefined, 'metadata');
      if (Object.keys(metadata).length > 0) body.metadata = metadata;
      const tags = args.flags['tags'] as string[] | undefined;
      if (tags?.length) body.tags = tags;
      if (args.given.has('weight')) body.weight = args.flags['weight'] as number;
      for (const key of ['zone', 'version'] as const) {
        const v = str(args, key);
        if (v) body[key] = v;
      }
      const status = str(args, 'status');
      if (status) body.status = status as Instance['status'];
      const interval = args.flags['check-interval'] as number;
      if (str(args, 'check-http'))
        body.check = { type: 'http', target: str(args, 'check-http'), interval_ms: interval };
      else if (args.flags['check-tcp'] === true) body.check = { type: 'tcp', interval_ms: interval };
      const registry = await api(ctx);
      const result = await registry.register(ns(args), service, id, body);
      if (ctx.output === 'json' || ctx.output === 'yaml') ctx.print(result);
      else
        ctx.stdout.write(
          `registered ${ns(args)}/${service}/${id} lease ${result.lease} ttl ${result.ttl}s rev ${result.revision}\n`,
        );
      if (args.flags['keep-alive'] !== true) return ExitCode.Success;
      await keepAlive(ctx, registry, ns(args), service, id, result.ttl);
      if (args.flags['keep-registered'] === true) return ExitCode.Success;
      const gone = await registry.deregister(ns(args), service, id);
      if (ctx.output !== 'json' && ctx.output !== 'yaml')
        ctx.stdout.write(`deregistered ${ns(args)}/${service}/${id} rev ${gone.revision}\n`);
      return ExitCode.Success;
    }),
};

/** Heartbeats every ttl/3 until Ctrl-C; a failed heartbeat is reported and retried at the next tick. */
async function keepAlive(
  ctx: Context,
  registry: RegistryApi,
  namespace: string,
  service: string,
  id: string,
  ttl: number,
) {
  const every = Math.max(300, Math.floor((ttl * 1000) / 3));
  ctx.stderr.write(`keeping ${namespace}/${service}/${id} alive every ${every} ms; Ctrl-C to stop\n`);
  while (!ctx.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, every);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (ctx.signal.aborted) break;
    try {
      await registry.heartbeat(namespace, service, id);
    } catch (err) {
      ctx.stderr.write(`heartbeat failed: ${(err as Error).message}\n`);
    }
  }
}

const deregister: CommandSpec = {
  name: 'deregister',
  summary: 'Deregister an instance (its record and naming entry go, its lease is revoked)',
  usage: 'SERVICE ID',
  args: { min: 2, max: 2 },
  run: (ctx, args) =>
    guarded(async () => {
      const [service, id] = args.positionals as [string, string];
      const answer = await (await api(ctx)).deregister(ns(args), service, id);
      if (ctx.output === 'json' || ctx.output === 'yaml') ctx.print(answer);
      else ctx.stdout.write(`deregistered ${ns(args)}/${service}/${id} rev ${answer.revision}\n`);
      return ExitCode.Success;
    }),
};

const drain: CommandSpec = {
  name: 'drain',
  summary: 'Mark an instance DRAINING (no new traffic; --undo sets it UP again)',
  usage: 'SERVICE ID [--undo]',
  args: { min: 2, max: 2 },
  flags: [{ name: 'undo', type: 'boolean', default: false, help: 'set the status back to UP' }],
  run: (ctx, args) =>
    guarded(async () => {
      const [service, id] = args.positionals as [string, string];
      const status = args.flags['undo'] === true ? 'UP' : 'DRAINING';
      const instance = await (await api(ctx)).update(ns(args), service, id, { status });
      if (ctx.output === 'json' || ctx.output === 'yaml') ctx.print(instance);
      else
        ctx.stdout.write(
          `${ns(args)}/${service}/${id} is ${instance.status} (rev ${instance.mod_revision})\n`,
        );
      return ExitCode.Success;
    }),
};

const watch: CommandSpec = {
  name: 'watch',
  summary: 'Print instance changes of a service (or the whole namespace) live until Ctrl-C',
  usage: '[SERVICE] [--revision REV]',
  description:
    'First the current instances (SNAPSHOT lines), then one line per change (ADDED, UPDATED, REMOVED) with its\n' +
    'revision. A dropped connection resumes after the last revision seen, on the next endpoint if need be.\n' +
    '-w json prints each event as one JSON line.',
  args: { max: 1 },
  flags: [
    { name: 'revision', type: 'string', help: 'resume after this revision (no snapshot of older state)' },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const rest = await restClient(ctx);
      const registry = new RegistryApi(rest);
      await registry.watch(
        ns(args),
        args.positionals[0] ?? '',
        ctx.signal,
        (event) => {
          if (ctx.output === 'json') ctx.print(event);
          else if (ctx.output === 'yaml') ctx.stdout.write(`---\n${renderYaml(event)}`);
          else ctx.stdout.write(watchLines(event));
        },
        str(args, 'revision'),
        (message) => ctx.stderr.write(`watch: ${message}\n`),
      );
      return ExitCode.Success;
    }),
};

export const registryCommand: CommandSpec = {
  name: 'registry',
  summary: 'Service registry: services, instances, register, drain, deregister, watch',
  description:
    'Talks to the registry REST API (/api/registry/v1) of --endpoints. With auth on, a 403 names the grant the\n' +
    'user lacks (see docs/security.md: read or readwrite on /cairn/registry/<ns>/).',
  flags: [NAMESPACE_FLAG],
  subcommands: [namespaces, services, instances, get, register, deregister, drain, watch],
};
