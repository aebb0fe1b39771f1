// Composes one running member: the core node, the gRPC server and the Nest HTTP app on the client URL(s),
// and (for clusters) the peer listener.
import * as grpc from '@grpc/grpc-js';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { INestApplication } from '@nestjs/common';
import type http from 'node:http';
import {
  CairnNode,
  type Logger,
  PEER_SERVER_OPTIONS,
  TlsPeerDialer,
  memberHashKv,
  registerHashKvService,
  registerMembershipService,
  registerPeerService,
  routePeerStreams,
  startCorruptionMonitor,
} from '@cairn/server';
import type { ServerSettings } from './config/settings';
import { createEtcdApis, createNodeEtcdPort } from '@cairn/server';
import { CONFIG_ROOT, ConfigCenter, ConfigCenterModule, registerConfigService } from '@cairn/config';
import { createRegistryFeature } from '@cairn/registry';
import { setupOpenApi } from './http/openapi';
import { AuditArchiver, AuditModule } from '@cairn/audit';
import path from 'node:path';
import {
  ClientListener,
  type Policy,
  httpBodyLimit,
  httpGuardPolicy,
  httpPipelineMiddleware,
  probeOneFlushAnswers,
  probeAuthorityNormalizer,
  probeGrpcStreamRouter,
  GrpcFront,
  IoWorkerListener,
  routeGrpcStreams,
  shouldNormalizeAuthority,
} from '@cairn/edge';
import {
  createEtcdGrpcServer,
  etcdKvFastMethods,
  etcdKvFastRoute,
  etcdKvMaxReceiveBytes,
} from './grpc/etcd-grpc-server';
import { AppModule } from './http/app.module';
import { installHttpGuards } from './http/http-guards.middleware';
import { ConsoleModule } from './console/console.module';
import { consoleMemberInfo } from './console/cluster-overview';
import { memberDialOptions } from './client-edge';
import { CairnMetrics } from './metrics';
import { startBackups } from './backups';
import { MetricsSampler } from './metrics-history/metrics-sampler';
import { KeyspaceFeatureCounts } from './metrics-history/feature-counts';
import { MetricsHistoryModule } from './metrics-history/history.controller';
import { ClientEdge } from './client-edge';
import { createRequestPipeline, isBlockingHttpRequest } from './request-pipeline';
import {
  authApiOptions,
  createAuthenticator,
  createTokenProvider,
  insecurityWarnings,
  logInsecurity,
} from './member-auth';
import { directWatchWriter } from './grpc/watch-stream-writer';
import { listenPeerUrls } from './peer/peer-listener';
import { PeerRefusals } from './peer/peer-refusals';
import { peerTlsMaterial } from './peer/peer-tls-config';

/** A config bundle import is written as several Raft requests: its body may be this large. */
const CONFIG_IMPORT_BODY_LIMIT = 16 * 1024 * 1024;
/**
 * First requests that also put a connection on the gRPC front besides its KV calls: Authenticate (a client sends
 * it before its KV calls) and a config subscriber's Watch (the front writes its Watch streams' DATA with the
 * connection's other frames, one socket write per tick for all its subscriptions: grpc-front/server-stream-data.ts).
 */
const FRONT_ALSO_FIRST = ['/etcdserverpb.Auth/Authenticate', '/cairn.config.v1.Config/Watch'];

export interface RunningCairn {
  node: CairnNode;
  clientUrls: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Request-pipeline policies appended after the member's own (tests prove one policy covers every path). */
  extraPolicies?: Policy[];
}

export async function startCairn(
  settings: ServerSettings,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningCairn> {
  const metrics = new CairnMetrics();
  // The console's live charts: this member's own samples of the last 15 minutes (metrics-history/).
  const sampler = new MetricsSampler();
  // Peer TLS (https:// peer URLs): one material for the peer listener and for everything this member dials.
  const peerTls = await peerTlsMaterial(settings.security.tls, settings.dataDir, settings.listenPeerUrls);
  // Auth tokens (--auth-token): assigned by the member when an Authenticate entry applies (member-auth.ts).
  const authTokens = createTokenProvider(settings);
  const node = await CairnNode.start({
    authTokens,
    name: settings.name,
    dataDir: settings.dataDir,
    initialCluster: settings.initialCluster,
    initialClusterState: settings.initialClusterState,
    initialClusterToken: settings.initialClusterToken,
    advertisePeerUrls: settings.initialAdvertisePeerUrls,
    advertiseClientUrls: settings.advertiseClientUrls,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    electionTimeoutMs: settings.electionTimeoutMs,
    snapshotCount: settings.snapshotCount,
    snapshotCatchUpEntries: Math.min(5000, settings.snapshotCount),
    backendBatchIntervalMs: settings.backendBatchIntervalMs,
    backendBatchLimit: settings.backendBatchLimit,
    quotaBackendBytes: settings.quotaBackendBytes,
    maxRequestBytes: settings.maxRequestBytes,
    maxTxnOps: settings.maxTxnOps,
    watchProgressNotifyIntervalMs: settings.watchProgressNotifyIntervalMs,
    autoCompactionMode: settings.autoCompactionMode,
    autoCompactionRetention: settings.autoCompactionRetention,
    preVote: settings.preVote,
    initialCorruptCheck: settings.corruption.initialCorruptCheck,
    peerDialer: peerTls && new TlsPeerDialer(peerTls),
    logger,
    observe: (kind, seconds) => {
      metrics.observe(kind, seconds);
      sampler.observe(kind, seconds);
    },
  });
  // The one in-process etcd port every feature (audit, config, registry, console, gateway watch) uses.
  const port = createNodeEtcdPort(node, settings.maxTxnOps);

  // Audit archive (libs/audit): this member archives its own applied log (config and registry keys).
  const audit = AuditArchiver.start({
    port,
    logger,
    dbUrl: settings.auditDbUrl,
    sqlitePath: path.join(settings.dataDir, 'audit', 'audit.sqlite'),
    allKeys: settings.auditAllKeys,
    valueMaxBytes: settings.auditValueMaxBytes,
    // Who made each change: the user of its Raft entry, as every member's apply sees it.
    writers: { onApplied: (listener) => node.onAppliedWrite(listener) },
  });

  // The peer URL: Raft messages and snapshots between members.
  const peerServer = new grpc.Server(PEER_SERVER_OPTIONS);
  const peerTransport = node.peerTransport;
  if (peerTransport) registerPeerService(peerServer, peerTransport);
  const peerRefusals = new PeerRefusals();
  registerMembershipService(
    peerServer,
    () => ({ clusterId: node.clusterId, members: node.members.list() }),
    node.leaseAuthority,
    {
      logger,
      onRejected: (rejection) => peerRefusals.countCall(rejection),
      learnerReady: (id) => node.learnerReady(id),
    },
  );
  // HashKV for the peers' corruption checks (etcd's peer /members/hashkv), members only, as Membership.
  registerHashKvService(
    peerServer,
    () => ({ clusterId: node.clusterId, members: node.members.list(), memberId: node.memberId }),
    (revision) => memberHashKv(node, revision),
    { logger, onRejected: (rejection) => peerRefusals.countCall(rejection) },
  );
  const peerListeners = await listenPeerUrls(peerServer, settings.listenPeerUrls, peerTls, logger);
  peerRefusals.register(metrics.registry, peerTransport, peerListeners);
  if (peerTransport) {
    // Raft messages skip grpc-js's call layers on the receiving side too (libs/server/src/peer/README.md).
    const routed = routePeerStreams(peerServer, peerTransport);
    logger.info({ handFramedPeerStreams: routed }, 'peer message streams served hand-framed when true');
  }

  // --experimental-corrupt-check-time: the leader compares HashKV with its peers (corruption-check.ts).
  const corruptionMonitor =
    settings.corruption.corruptCheckTimeMs > 0
      ? startCorruptionMonitor(node, settings.corruption.corruptCheckTimeMs)
      : undefined;
  // --backup-dir/--backup-interval: scheduled snapshots, failures logged and counted (backups.ts).
  const backups = startBackups(node, settings.backup, metrics.registry, logger);

  const apis = createEtcdApis(node, settings.maxTxnOps, authApiOptions(settings, authTokens));
  logInsecurity(settings, node.auth.isEnabled(), logger);
  // KV answers leave in one flush where this Node allows it (one-flush-answer.ts proves it here first).
  const oneFlush = await probeOneFlushAnswers();
  logger.info({ oneFlushAnswers: oneFlush }, 'unary KV answers: one HTTP/2 flush each when true');
  // The edge's other bypasses of library internals prove themselves the same way (bypass-probes.ts of @cairn/edge):
  // the stream router (grpc-js's private HTTP/2 servers) and the :authority normalizer (bytes under Node's HTTP/2).
  const streamRouter = await probeGrpcStreamRouter();
  const authority = await probeAuthorityNormalizer();
  const normalizeAuthority = shouldNormalizeAuthority(authority);
  logger.info(
    { authorityNormalizer: normalizeAuthority, needed: authority.needed, works: authority.works },
    "clients that send ':authority: http://...' (etcdctl) served through the normalizer when true",
  );
  const historyMember = (): { memberId: string; name: string } => ({
    memberId: node.memberId.toString(16).padStart(16, '0'),
    name: node.config.name,
  });
  // One request pipeline for every surface: gRPC (grpc-js services and the fast path) and HTTP/1.1.
  const pipeline = createRequestPipeline({
    node,
    metrics,
    history: sampler.pipelineSink,
    logger,
    unaryRequestTimeoutMs: settings.clientEdge.unaryRequestTimeoutMs,
    authenticator: createAuthenticator(node, authTokens, settings),
    extraPolicies: options.extraPolicies,
  });
  // Timeouts and limits of the client URL (client-edge.ts).
  const edge = new ClientEdge(settings.clientEdge, metrics, logger);
  // TLS of the https client and metrics URLs (client-edge.ts): certificates re-read when their files change.
  const tls = await edge.startTls(settings.security, settings.dataDir, [
    ...settings.listenClientUrls,
    ...settings.security.listenMetricsUrls,
  ]);
  const grpcServer = createEtcdGrpcServer(
    node,
    apis,
    port,
    pipeline,
    settings.maxRequestBytes,
    edge.grpcServerOptions(),
  );
  // Config center (libs/config): one instance serves REST (Nest module) and gRPC (cairn.config.v1).
  // Secret config items are sealed with the keys of --config-encryption-key-file ('' = secret items refused).
  const configCenter = new ConfigCenter({
    port,
    logger,
    audit,
    maxRequestBytes: settings.maxRequestBytes,
    encryptionKeyFile: settings.security.configEncryptionKeyFile,
  });
  // Config Watch streams are written as etcd Watch streams are: straight to HTTP/2 (watch-stream-writer.ts).
  const endConfigWatches = registerConfigService(grpcServer, configCenter, {
    directWriter: (call, serialize) => directWatchWriter(call as never, serialize),
  });
  // Service registry (libs/registry): REST + SSE, cairn.registry.v1 on gRPC, leader-only health checks.
  const registry = createRegistryFeature({
    port,
    logger,
    namingPrefix: settings.registryNamingPrefix,
    etcdNaming: settings.registryEtcdNaming,
    maxTxnOps: settings.maxTxnOps,
  });
  registry.addGrpcService(grpcServer);
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  // The KV fast path, installed by an explicit call on the HTTP/2 server the injector just made (never by
  // patching grpc-js); where the router's probe failed, grpc-js serves every call.
  const kvFastPath =
    streamRouter &&
    routeGrpcStreams(grpcServer, etcdKvFastRoute(apis, pipeline, settings.maxRequestBytes), { log: logger });
  logger.info({ kvFastPath, streamRouter }, 'KV calls served straight off the HTTP/2 stream when true');
  // The gRPC front (@cairn/edge grpc-front/): on a connection that opens with a KV call (or Authenticate, or a
  // config Watch), the KV calls are framed by the edge itself and never reach Node's HTTP/2; the rest of it
  // still goes to grpc-js.
  const grpcFront = settings.clientEdge.grpcFront
    ? new GrpcFront({
        methods: etcdKvFastMethods(apis),
        pipeline,
        maxReceiveBytes: etcdKvMaxReceiveBytes(settings.maxRequestBytes),
        maxConcurrentStreams: settings.clientEdge.maxConcurrentStreams,
        stats: edge.stats,
        alsoFirst: FRONT_ALSO_FIRST,
      })
    : undefined;
  edge.installOnGrpcServer(grpcServer);

  const nest: INestApplication = await NestFactory.create(
    AppModule.forMember(
      node,
      apis,
      port,
      metrics,
      [
        ConsoleModule.forMember(
          consoleMemberInfo(node, port, memberDialOptions(settings, tls), (since) =>
            sampler.history(historyMember(), since),
          ),
          port,
          { allowRemote: settings.consoleAllowRemote },
        ),
        AuditModule.forArchive(audit),
        ConfigCenterModule.forCenter(configCenter),
        registry.module,
        MetricsHistoryModule.forSource({
          sampler,
          member: historyMember,
          authEnabled: () => node.auth.isEnabled(),
        }),
      ],
      () => insecurityWarnings(settings, node.auth.isEnabled()),
    ),
    new ExpressAdapter(),
    {
      bodyParser: false,
      logger: false,
    },
  );
  // Every HTTP request enters the pipeline first (so every answer, a guard's refusal too, is counted and logged).
  nest.use(httpPipelineMiddleware(pipeline, { isBlocking: isBlockingHttpRequest }));
  // Then the edge's HTTP/1.1 guards, as etcd's accessController wraps its mux: an unknown Host (421), a
  // cross-site request --cors does not allow (403), a body over the limit (413, declared or chunked) or
  // nested too deep (400) never reach a route (http-guards.middleware.ts logs them).
  installHttpGuards(nest, {
    policy: httpGuardPolicy({
      cors: settings.cors,
      hostWhitelist: settings.hostWhitelist,
      listenClientUrls: settings.listenClientUrls.map((url) => url.href),
      advertiseClientUrls: settings.advertiseClientUrls,
    }),
    maxRequestBytes: settings.maxRequestBytes,
    bodyLimit: httpBodyLimit(settings.maxRequestBytes),
    importBodyLimit: Math.max(CONFIG_IMPORT_BODY_LIMIT, httpBodyLimit(settings.maxRequestBytes)),
    bodyTimeoutMs: settings.clientEdge.unaryRequestTimeoutMs,
    onBodyTimeout: () => edge.stats.requestBodyTimeouts.http++,
    logger,
  });
  setupOpenApi(nest);
  await nest.init();
  const httpServer = nest.getHttpServer() as http.Server;
  edge.installOnHttpServer(httpServer);

  const grpcBytes = { received: 0, sent: 0 };
  const liveGrpcSockets = new Set<import('node:net').Socket>();
  metrics.attach(node, {
    received: () => grpcBytes.received + [...liveGrpcSockets].reduce((sum, s) => sum + s.bytesRead, 0),
    sent: () => grpcBytes.sent + [...liveGrpcSockets].reduce((sum, s) => sum + s.bytesWritten, 0),
  });

  const featureCounts = new KeyspaceFeatureCounts(
    port,
    {
      registryRoot: registry.registry.keys.root,
      isInstanceKey: (key) => registry.registry.keys.parse(key) !== undefined,
      configRoot: CONFIG_ROOT,
    },
    logger,
  );
  void featureCounts.start();
  sampler.start(node, featureCounts);

  const listeners: Array<{ close(): Promise<void> }> = [];
  const clientUrls: string[] = [];
  // `connection` rewrites a scheme-prefixed :authority (etcdctl --endpoints=http://...) that Node's HTTP/2
  // would reject; `socket` is the raw connection for byte counts.
  const serveGrpc = (socket: import('node:net').Socket, connection: import('node:stream').Duplex): void => {
    liveGrpcSockets.add(socket);
    socket.once('close', () => {
      liveGrpcSockets.delete(socket);
      grpcBytes.received += socket.bytesRead;
      grpcBytes.sent += socket.bytesWritten;
    });
    injector.injectConnection(connection);
  };
  // --io-worker: the plaintext client URLs are served by one I/O worker thread (@cairn/edge io-worker/), the
  // calls its gRPC front takes run here through the same pipeline.
  const ioWorker = settings.clientEdge.ioWorker
    ? new IoWorkerListener({
        targets: { grpc: serveGrpc, http: httpServer, normalizeAuthority, log: logger },
        limits: edge.listenerLimits(),
        front: grpcFront && {
          methods: etcdKvFastMethods(apis),
          pipeline,
          maxReceiveBytes: etcdKvMaxReceiveBytes(settings.maxRequestBytes),
          maxConcurrentStreams: settings.clientEdge.maxConcurrentStreams,
          alsoFirst: FRONT_ALSO_FIRST,
        },
        log: logger,
      })
    : undefined;
  if (ioWorker) listeners.push(ioWorker);
  for (const url of settings.listenClientUrls) {
    const port = Number(url.port || 2379);
    if (ioWorker && url.protocol === 'http:') {
      const address = await ioWorker.listen(url.hostname, port);
      clientUrls.push(`${url.protocol}//${url.hostname}:${address.port}`);
      continue;
    }
    const listener = new ClientListener(
      {
        grpc: serveGrpc,
        http: httpServer,
        normalizeAuthority,
        front: grpcFront,
        log: logger,
        tls: url.protocol === 'https:' ? tls : undefined,
      },
      edge.listenerLimits(),
    );
    const address = await listener.listen(url.hostname, port);
    listeners.push(listener);
    clientUrls.push(`${url.protocol}//${url.hostname}:${address.port}`);
  }
  logger.info({ clientUrls }, 'serving client requests');
  // --listen-metrics-urls: /metrics and the probes only, served by the same HTTP app.
  const metricsUrls = await edge.listenMetrics(
    settings.security.listenMetricsUrls,
    nest.getHttpAdapter().getInstance(),
    tls,
  );
  if (metricsUrls.urls.length > 0) {
    logger.info({ metricsUrls: metricsUrls.urls }, 'serving metrics and probes');
  }

  return {
    node,
    clientUrls,
    async close() {
      sampler.stop();
      featureCounts.close();
      endConfigWatches();
      registry.close();
      await configCenter.close();
      for (const listener of listeners) await listener.close();
      for (const listener of metricsUrls.listeners) await listener.close();
      injector.destroy();
      grpcServer.forceShutdown();
      await nest.close();
      await audit.close();
      corruptionMonitor?.stop();
      await backups?.stop();
      await node.close();
      authTokens.close();
      peerListeners.close();
      peerServer.forceShutdown();
    },
  };
}
