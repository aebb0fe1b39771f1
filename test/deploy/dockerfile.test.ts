// The container image without a container engine: the Dockerfile is parsed (dockerfile-ast) and its
// structure asserted, then its steps are replayed in a temp dir standing in for the image's filesystem
// (/src, /opt/cairn, /var/lib/cairn mapped under it) and the entrypoint started from the runtime layout
// until the HEALTHCHECK passes. The default run stages the runtime layout from this (already built) tree;
// CAIRN_DOCKER_REPLAY=1 replays every build step (npm ci, npm run build, npm prune --omit=dev, staging) in a
// copy of the repository made through .dockerignore (minutes, and the npm registry or its cache).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { afterAll, describe, expect, it } from 'vitest';
import { allocatePorts, cleanupAll, makeTempDir, repoRoot, spawnManaged, waitFor } from '../support';

const FULL_REPLAY = process.env['CAIRN_DOCKER_REPLAY'] === '1';
const dockerfile = DockerfileParser.parse(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));

interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** The instructions of each FROM, in order. */
function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      result.push({ name: args[2] ?? '', image: args[0], instructions: [] });
    } else if (result.length > 0) result[result.length - 1].instructions.push(instruction);
  }
  return result;
}

const of = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((i) => i.getKeyword() === keyword);
const content = (i: Instruction): string => (i.getArgumentsContent() ?? '').replace(/\\\n/g, ' ');
/** ENV KEY=value pairs of a stage. */
const envOf = (stage: Stage): Record<string, string> =>
  Object.fromEntries(
    of(stage, 'ENV').flatMap((i) => i.getArguments().map((a) => a.getValue().split('=', 2))),
  );
/** Exec-form (JSON) arguments: ENTRYPOINT [...], HEALTHCHECK ... CMD [...]. */
const execForm = (i: Instruction): string[] => JSON.parse(content(i).replace(/^.*?CMD\s+/, '')) as string[];

describe('Dockerfile structure', () => {
  const [build, runtime] = stages();

  it('two stages from one pinned Node base: build, then runtime', () => {
    expect(stages().map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(build.image).toBe(runtime.image);
    const arg = dockerfile.getInstructions().find((i) => i.getKeyword() === 'ARG')!;
    expect(content(arg)).toMatch(/^NODE_VERSION=20\.\d+\.\d+$/);
    expect(runtime.image).toBe('node:${NODE_VERSION}-bookworm-slim');
  });

  it('build stage: npm ci, build, prune to production dependencies, stage the runtime layout', () => {
    const runs = of(build, 'RUN').map(content);
    const npmSteps = runs.filter((r) => /^(npm|node) /.test(r));
    expect(npmSteps).toEqual([
      'npm ci',
      'npm run build',
      'npm prune --omit=dev',
      'node deploy/stage-runtime.mjs /src /opt/cairn',
    ]);
  });

  it('runtime stage: only the staged layout, non-root, volume, ports, health check, entrypoint', () => {
    const copies = of(runtime, 'COPY');
    expect(copies.map((c) => [(c as Copy).getFromFlag()?.getValue(), content(c)])).toEqual([
      ['build', '/opt/cairn /opt/cairn'],
    ]);
    // Nothing installs packages in the final stage: what it holds was pruned with --omit=dev.
    expect(of(runtime, 'RUN').map(content).join(' ')).not.toMatch(/\bnpm\b|\byarn\b/);
    expect(envOf(runtime)['NODE_ENV']).toBe('production');

    const user = of(runtime, 'USER').map(content);
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(0|root)(:|$)/);
    const uid = user[0].split(':')[0];
    expect(of(runtime, 'RUN').map(content).join(' ')).toContain(`--uid ${uid}`);
    // The StatefulSet runs the pod as the same user.
    expect(readFileSync(join(repoRoot, 'deploy/kubernetes/base/statefulset.yaml'), 'utf8')).toContain(
      `runAsUser: ${uid}`,
    );

    expect(of(runtime, 'VOLUME').map(content)).toEqual(['["/var/lib/cairn"]']);
    const ports = of(runtime, 'EXPOSE').flatMap((i) => i.getArguments().map((a) => a.getValue()));
    expect(ports).toEqual(expect.arrayContaining(['2379', '2380']));
    const health = of(runtime, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(execForm(health[0])).toEqual(['node', '/opt/cairn/deploy/healthcheck.mjs']);
    expect(execForm(of(runtime, 'ENTRYPOINT')[0])).toEqual(['node', '/opt/cairn/deploy/entrypoint.mjs']);
  });

  it('.dockerignore keeps host installs, builds and data out of the build context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', '**/*.cairn']));
  });
});

// ---- Replay -------------------------------------------------------------------------------------------

/** .dockerignore patterns as predicates on a relative path (a match on a parent directory excludes it too). */
function dockerignore(): (path: string) => boolean {
  const patterns = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      const body = p
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('(?:.*/)?');
      return new RegExp(`^${body}$`);
    });
  return (path) => {
    const parts = path.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (patterns.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

/** `COPY . .`: the repository's files (tracked and untracked, not git-ignored) minus .dockerignore. */
function copyContext(dest: string): void {
  const ignored = dockerignore();
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot })
    .toString('utf8')
    .split('\0')
    .filter((f) => f && !ignored(f) && existsSync(join(repoRoot, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(dest, file));
  }
}

/** Runs one build-stage RUN step with the image's paths mapped under `root`. */
function runStep(command: string, root: string, env: Record<string, string>, extraArgs: string[] = []): void {
  const mapped = command.replace(/(^|\s)\/(src|opt)\b/g, `$1${root}/$2`);
  const result = spawnSync('sh', ['-c', [mapped, ...extraArgs].join(' ')], {
    cwd: join(root, 'src'),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20 * 60_000,
  });
  if (result.status !== 0)
    throw new Error(
      `${command} failed (${result.status}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
}

afterAll(async () => {
  await cleanupAll();
});

describe('Dockerfile replay without a container engine', () => {
  const [build, runtime] = stages();

  it(
    FULL_REPLAY
      ? 'every build step (npm ci, build, prune, stage), then the entrypoint answers /livez'
      : 'the runtime layout staged from this tree starts a member that passes the HEALTHCHECK',
    async () => {
      const root = makeTempDir('cairn-e2e-image-');
      const buildEnv = envOf(build);
      if (FULL_REPLAY) {
        copyContext(join(root, 'src'));
        for (const step of of(build, 'RUN').map(content)) {
          if (step.startsWith('apt-get')) continue; // OS packages of the base image: not replayable here
          runStep(step, root, buildEnv);
        }
      } else {
        // The tree is built already; node_modules is linked, not copied (hundreds of MB).
        mkdirSync(join(root, 'src'));
        const stage = of(build, 'RUN')
          .map(content)
          .find((r) => r.includes('stage-runtime'))!;
        runStep(
          stage.replace(/^node deploy\//, `node ${repoRoot}/deploy/`).replace(' /src ', ` ${repoRoot} `),
          root,
          buildEnv,
          ['--link-node-modules'],
        );
      }

      const app = join(root, 'opt', 'cairn');
      // Sources, tests and tooling stay in the build stage; the console and the protos come along.
      for (const file of ['bin/cairn', 'apps/server/dist/main.js', 'web/dist/index.html', 'libs/api/proto'])
        expect(existsSync(join(app, file)), file).toBe(true);
      for (const dir of ['libs/server/src', 'apps/server/src', 'test/compat', 'web/src', 'scripts'])
        expect(existsSync(join(app, dir)), dir).toBe(false);
      if (FULL_REPLAY) {
        // Packages the lockfile marks dev-only must be gone (a devDependency that a production package
        // also needs, such as @types/node under protobufjs, is not dev-only and stays).
        const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
          packages: Record<string, { dev?: boolean }>;
        };
        const devOnly = Object.entries(lock.packages)
          .filter(([path, entry]) => entry.dev === true && path.startsWith('node_modules/'))
          .map(([path]) => path);
        expect(devOnly).toContain('node_modules/typescript');
        const present = devOnly.filter((path) => existsSync(join(app, path)));
        expect(present, 'dev-only packages in the runtime layout').toEqual([]);
        expect(readdirSync(join(app, 'node_modules')).length).toBeGreaterThan(10);
      }

      // Start the ENTRYPOINT as the container would, on loopback ports instead of 0.0.0.0.
      const [client, peer, metrics] = await allocatePorts(3);
      const workdir = join(root, 'var', 'lib', 'cairn');
      mkdirSync(workdir, { recursive: true });
      const imageEnv = envOf(runtime);
      const env = {
        PATH: process.env['PATH'],
        HOSTNAME: 'cairn-image-test',
        ...imageEnv,
        CAIRN_LISTEN_METRICS_URLS: imageEnv['CAIRN_LISTEN_METRICS_URLS'].replace(
          '0.0.0.0:2381',
          `127.0.0.1:${metrics}`,
        ),
        CAIRN_LISTEN_CLIENT_URLS: `http://127.0.0.1:${client}`,
        CAIRN_ADVERTISE_CLIENT_URLS: `http://127.0.0.1:${client}`,
        CAIRN_LISTEN_PEER_URLS: `http://127.0.0.1:${peer}`,
        CAIRN_INITIAL_ADVERTISE_PEER_URLS: `http://127.0.0.1:${peer}`,
        CAIRN_DATA_DIR: join(workdir, 'data'),
        CAIRN_LOG_LEVEL: 'warn',
      };
      const mapPath = (arg: string): string => arg.replace(/^\/opt\//, `${root}/opt/`);
      const [command, ...args] = execForm(of(runtime, 'ENTRYPOINT')[0]).map(mapPath);
      const member = spawnManaged(command === 'node' ? process.execPath : command, args, {
        label: 'image-entrypoint',
        env,
        cwd: workdir,
      });
      const [hcCommand, ...hcArgs] = execForm(of(runtime, 'HEALTHCHECK')[0]).map(mapPath);
      await waitFor(
        () => {
          if (!member.running) throw new Error(`entrypoint exited:\n${member.stderr()}`);
          const check = spawnSync(hcCommand === 'node' ? process.execPath : hcCommand, hcArgs, {
            env,
            timeout: 10_000,
          });
          return check.status === 0 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the HEALTHCHECK to pass' },
      );
      const livez = await fetch(`http://127.0.0.1:${client}/livez`);
      expect(await livez.text()).toBe('ok');
      const consolePage = await fetch(`http://127.0.0.1:${client}/`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain('<html');
      expect(existsSync(join(workdir, 'data', 'member', 'wal'))).toBe(true);
      await member.terminate();
    },
    FULL_REPLAY ? 30 * 60_000 : 60_000,
  );
});
