#!/usr/bin/env node
// @ts-check
// Container entrypoint of the Cairn image. Everything is read from the flags and CAIRN_* environment of
// bin/cairn (its argv is passed through; a flag wins over its env twin, as in bin/cairn).
//
// Outside Kubernetes (CAIRN_K8S_SERVICE unset) it runs bin/cairn; in the image (CAIRN_IMAGE=1) with the
// container's defaults for settings not given: data dir /var/lib/cairn/data, listen on 0.0.0.0:2379/2380,
// advertise <hostname>. On Kubernetes it first derives the
// member's identity from the StatefulSet pod, as etcd operators do:
//   --name                          the pod's hostname, <statefulset>-<ordinal>
//   --initial-advertise-peer-urls   <scheme>://<pod>.<headless service>.<namespace>.svc.<domain>:2380
//   --advertise-client-urls         the same host on :2379 (listen URLs: 0.0.0.0 on both ports)
//   --initial-cluster / -state      decided from the data dir and the running cluster:
//     - <data-dir>/member/wal exists            restart: just start (the flags are ignored by the member)
//     - a member of the cluster answers:
//         our peer URL is listed, never started  start it (bootstrap entry: 'new'; added learner: 'existing')
//         our peer URL is listed and started     our data is lost: remove the stale member, then join
//         our peer URL is not listed             join: add ourselves as a learner, start 'existing' with the
//                                                 member list, promote once the learner has caught up
//       (a data dir whose member was removed from the cluster is moved aside first, then we join)
//     - nobody answers, ordinal < initial size   bootstrap 'new' with ordinals 0..size-1
//     - nobody answers, ordinal >= initial size  retry, then exit non-zero (Kubernetes restarts the pod)
//
// Subcommand `remove <name>` removes a member through the member API (scale-down, docs/kubernetes.md).
//
// Environment of the Kubernetes mode (the manifests under deploy/kubernetes set them):
//   CAIRN_K8S_SERVICE          headless Service of the peers (turns the mode on)
//   CAIRN_K8S_NAMESPACE        pod namespace (downward API; default 'default')
//   CAIRN_K8S_CLUSTER_DOMAIN   default 'cluster.local'
//   CAIRN_K8S_INITIAL_SIZE     members of the first bootstrap (default 1)
//   CAIRN_K8S_CLIENT_PORT, CAIRN_K8S_PEER_PORT   default 2379, 2380
//   CAIRN_K8S_JOIN_TIMEOUT     seconds to wait for a cluster to join (default 300)
//   CAIRN_K8S_ADDRESSES        replaces the service DNS, for tests on loopback: JSON
//                              {"cairn-0": {"client": "http://127.0.0.1:p1", "peer": "http://127.0.0.1:p2"}, ...}
//   HOSTNAME                   <statefulset>-<ordinal> (set by Kubernetes)
// CAIRN_ENTRYPOINT_DRY_RUN=1 prints the derived settings as JSON instead of starting the member (a learner
// is still added when the decision is to join).
// TLS: https is used on the client (peer) URLs when CAIRN_CERT_FILE (CAIRN_PEER_CERT_FILE) is set; the
// entrypoint's own member API calls trust CAIRN_TRUSTED_CA_FILE and present CAIRN_CERT_FILE/CAIRN_KEY_FILE.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CAIRN_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'cairn');
const argv = process.argv.slice(2);
const env = process.env;

/** @param {string} message */
function log(message) {
  process.stderr.write(`cairn-entrypoint: ${message}\n`);
}

/** @param {string} message @returns {never} */
function fail(message) {
  log(message);
  process.exit(1);
}

/** The value of a bin/cairn setting: the flag in argv, else its CAIRN_* env twin. @param {string} flag */
function setting(flag) {
  for (let i = 0; i < argv.length; i++) {
    const body = argv[i].replace(/^--?/, '');
    if (body === flag && i + 1 < argv.length) return argv[i + 1];
    if (body.startsWith(flag + '=')) return body.slice(flag.length + 1);
  }
  const fromEnv = env['CAIRN_' + flag.toUpperCase().replace(/-/g, '_')];
  return fromEnv === '' ? undefined : fromEnv;
}

/** What the entrypoint derived, by env name (printed by CAIRN_ENTRYPOINT_DRY_RUN=1). */
/** @type {Record<string, string>} */
const derived = {};

/** Sets a setting for the child through its env twin unless the user gave it. @param {string} flag @param {string} value */
function derive(flag, value) {
  if (setting(flag) !== undefined) return;
  const name = 'CAIRN_' + flag.toUpperCase().replace(/-/g, '_');
  env[name] = value;
  derived[name] = value;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- Kubernetes identity ----------------------------------------------------------------------------

function k8sLayout() {
  const host = env['HOSTNAME'] || hostname();
  const match = /^(.+)-(\d+)$/.exec(host);
  if (!match) fail(`HOSTNAME ${host} is not <statefulset>-<ordinal>`);
  const sts = match[1];
  const ordinal = Number(match[2]);
  const service = /** @type {string} */ (env['CAIRN_K8S_SERVICE']);
  const namespace = env['CAIRN_K8S_NAMESPACE'] || 'default';
  const domain = env['CAIRN_K8S_CLUSTER_DOMAIN'] || 'cluster.local';
  const initialSize = Number(env['CAIRN_K8S_INITIAL_SIZE'] || '1');
  const clientPort = env['CAIRN_K8S_CLIENT_PORT'] || '2379';
  const peerPort = env['CAIRN_K8S_PEER_PORT'] || '2380';
  const clientScheme = setting('cert-file') ? 'https' : 'http';
  const peerScheme = setting('peer-cert-file') ? 'https' : 'http';
  /** @type {Record<string, {client: string, peer: string}> | undefined} */
  const addresses = env['CAIRN_K8S_ADDRESSES'] ? JSON.parse(env['CAIRN_K8S_ADDRESSES']) : undefined;
  if (!Number.isInteger(initialSize) || initialSize < 1) fail('CAIRN_K8S_INITIAL_SIZE must be >= 1');

  /** @param {number} n */
  const nameOf = (n) => `${sts}-${n}`;
  /** @param {number} n @returns {{client: string, peer: string}} */
  const urlsOf = (n) => {
    const fixed = addresses?.[nameOf(n)];
    if (fixed) return fixed;
    const dns = `${nameOf(n)}.${service}.${namespace}.svc.${domain}`;
    return { client: `${clientScheme}://${dns}:${clientPort}`, peer: `${peerScheme}://${dns}:${peerPort}` };
  };
  return {
    sts,
    ordinal,
    name: nameOf(ordinal),
    initialSize,
    nameOf,
    urlsOf,
    addresses,
    clientPort,
    peerPort,
  };
}

// ---- Member API over the JSON gateway ---------------------------------------------------------------

function tlsOptions() {
  const ca = setting('trusted-ca-file');
  const cert = setting('cert-file');
  const key = setting('key-file');
  return {
    ...(ca ? { ca: readFileSync(ca) } : {}),
    ...(cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : {}),
  };
}

/**
 * POSTs a JSON body to a member's gateway; resolves with the parsed answer, rejects on errors and non-2xx.
 * @param {string} clientUrl @param {string} path @param {object} body @returns {Promise<any>}
 */
function post(clientUrl, path, body) {
  const url = new URL(path, clientUrl);
  const data = JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        timeout: 3000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        ...(url.protocol === 'https:' ? tlsOptions() : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let parsed;
          try {
            parsed = JSON.parse(text || '{}');
          } catch {
            parsed = { message: text };
          }
          if ((res.statusCode ?? 500) >= 300) reject(new Error(parsed.message || parsed.error || text));
          else resolve(parsed);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after 3s`)));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * The first member among `clientUrls` that answers the member list, or undefined.
 * @param {string[]} clientUrls @returns {Promise<{url: string, members: any[]} | undefined>}
 */
async function findCluster(clientUrls) {
  for (const url of clientUrls) {
    try {
      const answer = await post(url, '/v3/cluster/member/list', { linearizable: true });
      return { url, members: answer.members ?? [] };
    } catch {
      // not up (yet), or no quorum behind it: try the next one
    }
  }
  return undefined;
}

/** @param {any} member @param {string} peerUrl */
const hasPeerUrl = (member, peerUrl) => (member.peerURLs ?? []).includes(peerUrl);
/** @param {any} member */
const started = (member) => (member.clientURLs ?? []).length > 0;

/** `name=peerURL,...` of a member list, naming the unnamed (just added) entry `selfName`. */
function initialClusterOf(
  /** @type {any[]} */ members,
  /** @type {string} */ selfName,
  /** @type {string} */ selfPeer,
) {
  return members
    .flatMap((m) =>
      (m.peerURLs ?? []).map(
        (/** @type {string} */ u) => `${hasPeerUrl(m, selfPeer) ? selfName : m.name}=${u}`,
      ),
    )
    .join(',');
}

/** Promotes learner `id` once it has caught up (the leader refuses until then); runs until done. */
async function promoteWhenReady(
  /** @type {string[]} */ clientUrls,
  /** @type {string} */ id,
  /** @type {string} */ name,
) {
  for (let attempt = 0; ; attempt++) {
    await sleep(Math.min(1000 * (attempt + 1), 5000));
    const cluster = await findCluster(clientUrls);
    if (!cluster) continue;
    const self = cluster.members.find((m) => String(m.ID) === id);
    if (!self) return log(`member ${name} (${id}) is no longer in the cluster; not promoting`);
    if (!self.isLearner) return log(`member ${name} (${id}) is a voting member`);
    try {
      await post(cluster.url, '/v3/cluster/member/promote', { ID: id });
      return log(`promoted learner ${name} (${id}) to a voting member`);
    } catch (err) {
      if (attempt % 5 === 0)
        log(`promote ${name}: ${err instanceof Error ? err.message : String(err)}; retrying`);
    }
  }
}

/** The member's data dir holds a WAL: it has run before. */
function hasMemberData(/** @type {string} */ dataDir) {
  const wal = join(dataDir, 'member', 'wal');
  return existsSync(wal) && readdirSync(wal).length > 0;
}

/**
 * Decides how this pod's member starts, sets the derived settings, and returns a learner to promote.
 * @returns {Promise<{promote?: {id: string, clientUrls: string[]}}>}
 */
async function prepareKubernetesMember() {
  const k = k8sLayout();
  const self = k.urlsOf(k.ordinal);
  derive('name', k.name);
  derive('initial-advertise-peer-urls', self.peer);
  derive('advertise-client-urls', self.client);
  // In a pod the member listens on every interface; with CAIRN_K8S_ADDRESSES (loopback tests) on its own URLs.
  derive(
    'listen-peer-urls',
    k.addresses ? self.peer : `${new URL(self.peer).protocol}//0.0.0.0:${k.peerPort}`,
  );
  derive(
    'listen-client-urls',
    k.addresses ? self.client : `${new URL(self.client).protocol}//0.0.0.0:${k.clientPort}`,
  );
  derive('data-dir', '/var/lib/cairn/data');
  const name = /** @type {string} */ (setting('name'));
  const peerUrl = /** @type {string} */ (setting('initial-advertise-peer-urls'));
  const dataDir = /** @type {string} */ (setting('data-dir'));

  // Everyone we could ask: the bootstrap members and every lower ordinal (they exist before us).
  const others = [];
  for (let n = 0; n < Math.max(k.initialSize, k.ordinal); n++)
    if (n !== k.ordinal) others.push(k.urlsOf(n).client);
  const bootstrap = Array.from(
    { length: k.initialSize },
    (_, n) => `${k.nameOf(n)}=${k.urlsOf(n).peer}`,
  ).join(',');

  if (hasMemberData(dataDir)) {
    const cluster = await findCluster(others);
    if (!cluster || cluster.members.some((m) => hasPeerUrl(m, peerUrl))) {
      log(`${name}: data dir ${dataDir} holds a member; restarting it`);
      derive('initial-cluster', bootstrap);
      derive('initial-cluster-state', 'existing');
      return {};
    }
    // The cluster no longer lists us (scaled down, then up again with the old volume): start afresh.
    const aside = `${dataDir}.removed-${Date.now()}`;
    log(`${name}: removed from the cluster; moving ${dataDir} to ${aside} and joining again`);
    renameSync(dataDir, aside);
  }

  const deadline = Date.now() + Number(env['CAIRN_K8S_JOIN_TIMEOUT'] || '300') * 1000;
  let cluster = await findCluster(others);
  if (!cluster && k.ordinal < k.initialSize) {
    log(`${name}: no cluster answers; bootstrapping ${bootstrap}`);
    derive('initial-cluster', bootstrap);
    derive('initial-cluster-state', 'new');
    return {};
  }
  while (!cluster) {
    if (Date.now() > deadline) fail(`${name}: no member of the cluster answers (${others.join(', ')})`);
    await sleep(2000);
    cluster = await findCluster(others);
  }

  let entry = cluster.members.find((m) => hasPeerUrl(m, peerUrl));
  if (entry && started(entry)) {
    log(
      `${name}: the cluster knows member ${entry.ID} at ${peerUrl} but our data dir is empty; replacing it`,
    );
    // Retried until the deadline, as the add below: the stale member may have been the leader, and the
    // remove fails while the others elect a new one.
    const staleId = String(entry.ID);
    for (;;) {
      try {
        await post(cluster.url, '/v3/cluster/member/remove', { ID: staleId });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        log(
          `${name}: member remove through ${cluster.url}: ${err instanceof Error ? err.message : String(err)}; retrying`,
        );
        await sleep(2000);
        cluster = (await findCluster(others)) ?? cluster;
        // The remove may have gone through although its answer was lost.
        if (!cluster.members.some((m) => String(m.ID) === staleId)) break;
      }
    }
    entry = undefined;
  }
  if (entry && !entry.isLearner && entry.name === name && k.ordinal < k.initialSize) {
    // A bootstrap entry that never started: the others bootstrapped without us; join that bootstrap.
    log(`${name}: joining the bootstrap of ${bootstrap}`);
    derive('initial-cluster', bootstrap);
    derive('initial-cluster-state', 'new');
    return {};
  }
  let members = cluster.members;
  if (!entry) {
    // Retried until the deadline: a member add fails while the cluster elects a leader.
    for (;;) {
      try {
        const added = await post(cluster.url, '/v3/cluster/member/add', {
          peerURLs: [peerUrl],
          isLearner: true,
        });
        entry = added.member;
        members = added.members ?? [...members, entry];
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        log(
          `${name}: member add through ${cluster.url}: ${err instanceof Error ? err.message : String(err)}; retrying`,
        );
        await sleep(2000);
        cluster = (await findCluster(others)) ?? cluster;
        // The add may have gone through although its answer was lost.
        const listed = cluster.members.find((m) => hasPeerUrl(m, peerUrl));
        if (listed) {
          entry = listed;
          members = cluster.members;
          break;
        }
      }
    }
    log(`${name}: added as learner ${entry.ID} through ${cluster.url}`);
  } else {
    log(`${name}: the cluster already lists us as ${entry.ID} (not started yet); starting it`);
  }
  derive('initial-cluster', initialClusterOf(members, name, peerUrl));
  derive('initial-cluster-state', 'existing');
  const id = String(entry.ID);
  return entry.isLearner || !entry.name ? { promote: { id, clientUrls: [...others] } } : {};
}

/** In the image (CAIRN_IMAGE=1) outside Kubernetes: listen on every interface, keep data on the volume. */
function prepareImageMember() {
  const client = setting('cert-file') ? 'https' : 'http';
  const peer = setting('peer-cert-file') ? 'https' : 'http';
  const host = env['HOSTNAME'] || hostname();
  derive('data-dir', '/var/lib/cairn/data');
  derive('listen-client-urls', `${client}://0.0.0.0:2379`);
  derive('advertise-client-urls', `${client}://${host}:2379`);
  derive('listen-peer-urls', `${peer}://0.0.0.0:2380`);
  derive('initial-advertise-peer-urls', `${peer}://${host}:2380`);
  return {};
}

// ---- Subcommands ------------------------------------------------------------------------------------

/** `remove <name>`: removes a member (by name) through any member that answers. */
async function removeCommand(/** @type {string} */ target) {
  const k = k8sLayout();
  const urls = [];
  for (let n = 0; n < Math.max(k.initialSize, k.ordinal + 1); n++) urls.push(k.urlsOf(n).client);
  const cluster = await findCluster(urls);
  if (!cluster) fail(`no member answers (${urls.join(', ')})`);
  const member = cluster.members.find((m) => m.name === target);
  if (!member) fail(`no member named ${target}`);
  await post(cluster.url, '/v3/cluster/member/remove', { ID: String(member.ID) });
  log(`removed member ${target} (${member.ID})`);
}

// ---- Main -------------------------------------------------------------------------------------------

async function main() {
  if (argv[0] === 'remove') {
    if (!env['CAIRN_K8S_SERVICE'] || !argv[1]) fail('usage: remove <member name> (on Kubernetes)');
    argv.splice(0, 1);
    const target = /** @type {string} */ (argv.shift());
    await removeCommand(target);
    return;
  }
  const plan = env['CAIRN_K8S_SERVICE']
    ? await prepareKubernetesMember()
    : env['CAIRN_IMAGE'] === '1'
      ? prepareImageMember()
      : {};
  if (env['CAIRN_ENTRYPOINT_DRY_RUN'] === '1') {
    // Prints the decision instead of starting (tests, and operators checking a pod's environment).
    process.stdout.write(JSON.stringify({ derived, promote: plan.promote !== undefined }) + '\n');
    return;
  }
  const child = spawn(process.execPath, [CAIRN_BIN, ...argv], { stdio: 'inherit', env });
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT']))
    process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
  if (plan.promote) {
    const { id, clientUrls } = plan.promote;
    promoteWhenReady(clientUrls, id, /** @type {string} */ (setting('name'))).catch((err) =>
      log(String(err)),
    );
  }
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
