import { describe, expect, it } from 'vitest';
import { type CommandSpec, UsageError } from '../src/command';
import { globalOptions, parseCommandLine, parseDuration } from '../src/parse';

const leaf: CommandSpec = {
  name: 'restore',
  summary: 's',
  flags: [
    { name: 'name', type: 'string', default: 'default', help: '' },
    { name: 'skip', type: 'boolean', help: '' },
    { name: 'urls', type: 'strings', help: '' },
    { name: 'n', type: 'number', help: '' },
    { name: 'every', type: 'duration', default: '1h', help: '' },
  ],
  run: () => 0,
};
const root: CommandSpec = {
  name: 'cairnctl',
  summary: 'r',
  subcommands: [{ name: 'snapshot', summary: 's', subcommands: [leaf] }],
};

describe('parseDuration', () => {
  it("takes Go's syntax", () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('5x')).toThrow(UsageError);
    expect(() => parseDuration('5s junk')).toThrow(UsageError);
  });
});

describe('parseCommandLine', () => {
  it('walks subcommands and takes flags anywhere after the command that declares them', () => {
    const r = parseCommandLine(
      [
        '--endpoints',
        'a:1,b:2',
        'snapshot',
        'restore',
        'f.db',
        '--name=m1',
        '--skip',
        '--urls',
        'x',
        '--urls=y,z',
      ],
      root,
    );
    expect(r.error).toBeUndefined();
    expect(r.path.map((c) => c.name)).toEqual(['cairnctl', 'snapshot', 'restore']);
    expect(r.positionals).toEqual(['f.db']);
    expect(r.flags['name']).toBe('m1');
    expect(r.flags['skip']).toBe(true);
    expect(r.flags['urls']).toEqual(['x', 'y', 'z']);
    expect(r.flags['endpoints']).toEqual(['a:1', 'b:2']);
    expect(r.flags['every']).toBe(3_600_000);
    expect(r.given.has('name')).toBe(true);
    expect(r.given.has('every')).toBe(false);
  });

  it('reads booleans as etcdctl does (--flag=false) and short flags (-w json, -wjson, -w=json)', () => {
    for (const argv of [['-w', 'json'], ['-wjson'], ['-w=json'], ['--write-out=json']]) {
      expect(parseCommandLine(argv, root).flags['write-out']).toBe('json');
    }
    const r = parseCommandLine(['snapshot', 'restore', '--skip=false'], root);
    expect(r.flags['skip']).toBe(false);
  });

  it('reports usage errors without throwing', () => {
    expect(parseCommandLine(['--bogus'], root).error?.message).toBe('unknown flag: --bogus');
    expect(parseCommandLine(['-w', 'xml'], root).error?.message).toMatch(/one of table, json, yaml, simple/);
    expect(parseCommandLine(['--dial-timeout', 'soon'], root).error?.message).toMatch(/not a duration/);
    expect(parseCommandLine(['snapshot', 'restore', '--n', 'x'], root).error?.message).toMatch(
      /not a number/,
    );
    expect(parseCommandLine(['--endpoints'], root).error?.message).toBe(
      'flag needs an argument: --endpoints',
    );
    // A subcommand's flag before the subcommand is not known yet.
    expect(parseCommandLine(['snapshot', '--name', 'x', 'restore'], root).error?.message).toBe(
      'unknown flag: --name',
    );
  });

  it('takes global flags from CAIRNCTL_* and lets flags beat them', () => {
    const env = {
      CAIRNCTL_ENDPOINTS: 'e1:2379,e2:2379',
      CAIRNCTL_WRITE_OUT: 'table',
      CAIRNCTL_DIAL_TIMEOUT: '7s',
      CAIRNCTL_INSECURE_SKIP_TLS_VERIFY: 'true',
      CAIRNCTL_USER: 'root:pw',
    };
    const fromEnv = parseCommandLine([], root, env);
    expect(fromEnv.flags['endpoints']).toEqual(['e1:2379', 'e2:2379']);
    const g = globalOptions(fromEnv.flags);
    expect(g).toMatchObject({
      endpoints: ['e1:2379', 'e2:2379'],
      output: 'table',
      dialTimeoutMs: 7000,
      commandTimeoutMs: 5000,
      user: 'root',
      password: 'pw',
      tls: { insecureSkipVerify: true },
    });
    const flagged = parseCommandLine(['--endpoints', 'f:1', '-w', 'json', '--dial-timeout=1s'], root, env);
    expect(globalOptions(flagged.flags)).toMatchObject({
      endpoints: ['f:1'],
      output: 'json',
      dialTimeoutMs: 1000,
    });
    expect(parseCommandLine([], root, { CAIRNCTL_DIAL_TIMEOUT: 'x' }).error?.message).toMatch(
      /^CAIRNCTL_DIAL_TIMEOUT: /,
    );
  });

  it('only global flags come from the environment', () => {
    const r = parseCommandLine(['snapshot', 'restore'], root, { CAIRNCTL_NAME: 'env' });
    expect(r.flags['name']).toBe('default');
  });

  it('checks required flags unless --help is asked', () => {
    const req: CommandSpec = {
      name: 'x',
      summary: '',
      subcommands: [
        { name: 'y', summary: '', flags: [{ name: 'dir', type: 'string', help: '', required: true }] },
      ],
    };
    expect(parseCommandLine(['y'], req).error?.message).toBe('required flag --dir not set');
    expect(parseCommandLine(['y', '--help'], req).error).toBeUndefined();
  });

  it('-- ends the flags', () => {
    expect(parseCommandLine(['snapshot', 'restore', '--', '--name'], root).positionals).toEqual(['--name']);
  });
});

describe('globalOptions', () => {
  const flags = (argv: string[]) => parseCommandLine(argv, root).flags;
  it('splits --user at the first colon, as etcdctl', () => {
    expect(globalOptions(flags(['--user', 'alice:pa:ss']))).toMatchObject({
      user: 'alice',
      password: 'pa:ss',
    });
    expect(globalOptions(flags(['--user', 'alice', '--password', 'x']))).toMatchObject({
      user: 'alice',
      password: 'x',
    });
    expect(globalOptions(flags(['--user', 'alice'])).password).toBeUndefined();
  });
  it('refuses two passwords or a password without a user', () => {
    expect(() => globalOptions(flags(['--user', 'a:b', '--password', 'c']))).toThrow(UsageError);
    expect(() => globalOptions(flags(['--password', 'c']))).toThrow(/needs --user/);
  });
  it('has etcdctl 3.4 defaults', () => {
    expect(globalOptions(flags([]))).toEqual({
      endpoints: ['127.0.0.1:2379'],
      tls: { insecureSkipVerify: false },
      dialTimeoutMs: 2000,
      commandTimeoutMs: 5000,
      output: 'simple',
    });
  });
});
