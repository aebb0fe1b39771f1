import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/command';
import { ROOT, describeError } from '../src/cli';
import { run } from './helpers';

/** Every command path of the tree. */
function paths(command = ROOT, prefix: string[] = []): string[][] {
  return (command.subcommands ?? []).flatMap((sub) => [
    [...prefix, sub.name],
    ...paths(sub, [...prefix, sub.name]),
  ]);
}

describe('cairnctl dispatcher', () => {
  it('prints help for the root and for every command and group, exit 0', async () => {
    const root = await run([]);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/^cairnctl - /);
    for (const path of paths()) {
      const r = await run([...path, '--help']);
      expect(r.code, path.join(' ')).toBe(0);
      expect(r.stdout).toContain(`cairnctl ${path.join(' ')} - `);
      expect(r.stdout).toContain('--endpoints');
    }
  });

  it('lists flags with defaults and env names', async () => {
    const r = await run(['snapshot', 'restore', '-h']);
    expect(r.stdout).toContain('--initial-cluster-token VALUE');
    expect(r.stdout).toContain('(default etcd-cluster)');
    expect(r.stdout).toContain('[$CAIRNCTL_ENDPOINTS]');
  });

  it("exits 128 (etcdctl's ExitBadArgs) on usage errors, with the usage line", async () => {
    for (const argv of [
      ['nope'],
      ['member'],
      ['snapshot', 'save'],
      ['snapshot', 'save', 'a', 'b'],
      ['member', 'list', '--bogus'],
      ['--dial-timeout', 'x', 'member', 'list'],
      ['member', 'add', 'x'],
      ['member', 'remove', 'zz'],
      ['completion', 'fish'],
      ['--password', 'p', 'member', 'list'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.BadArgs);
      expect(r.stderr).toMatch(/^Error: /);
      expect(r.stderr).toContain('Usage:');
    }
  });

  it('refuses a snapshot from several endpoints, as etcdctl', async () => {
    const r = await run(['--endpoints', 'a:1,b:2', 'snapshot', 'save', 'x.db']);
    expect(r.code).toBe(ExitCode.BadArgs);
    expect(r.stderr).toContain('snapshot must be requested to one selected node');
  });

  it('names the endpoint of a connection failure', async () => {
    const r = await run(['--endpoints', '127.0.0.1:1', '--dial-timeout', '200ms', 'member', 'list']);
    expect(r.code).toBe(ExitCode.BadConnection);
    expect(r.stderr).toMatch(/^Error: 127\.0\.0\.1:1: /);
  });

  it('says which permission a PermissionDenied needs', () => {
    const error = Object.assign(new Error('7 PERMISSION_DENIED: etcdserver: permission denied'), {
      code: 7,
      details: 'etcdserver: permission denied',
    });
    expect(describeError(error, { name: 'save', summary: '', permission: 'the root role' }, 'h:1')).toEqual({
      message: 'h:1: etcdserver: permission denied (this command needs the root role)',
      exitCode: 1,
    });
    // etcd 3.4's non-root snapshot: code Unknown, text "auth: permission denied".
    const etcd = Object.assign(new Error('2 UNKNOWN: auth: permission denied'), {
      code: 2,
      details: 'auth: permission denied',
    });
    expect(
      describeError(etcd, { name: 'save', summary: '', permission: 'the root role' }, 'h:1').message,
    ).toBe('h:1: auth: permission denied (this command needs the root role)');
  });

  it('prints the version', async () => {
    expect((await run(['version'])).stdout).toMatch(/^cairnctl version: \d+\.\d+\.\d+\n/);
  });
});
