import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/cli';
import { bashCompletion, zshCompletion } from '../src/completion';
import { run } from './helpers';

/** Runs the bash script's completion function for a command line and returns the candidates. */
function complete(line: string[]): string[] {
  const script = `${bashCompletion(ROOT)}
COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${line.length - 1}
_cairnctl
printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('completion', () => {
  it('prints the scripts, exit 0', async () => {
    const bash = await run(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _cairnctl cairnctl');
    const zsh = await run(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef cairnctl/);
  });

  it('bash completes groups, subcommands, flags and flag values from the tree', () => {
    expect(complete(['cairnctl', 'sn'])).toEqual(['snapshot']);
    expect(complete(['cairnctl', 'snapshot', ''])).toEqual(['save', 'status', 'restore']);
    expect(complete(['cairnctl', '--endpoints', 'x:1', 'member', 'p'])).toEqual(['promote']);
    expect(complete(['cairnctl', 'snapshot', 'restore', 'f.db', '--initial-cluster-t'])).toEqual([
      '--initial-cluster-token',
    ]);
    expect(complete(['cairnctl', 'endpoint', 'status', '--cl'])).toEqual(['--cluster']);
    expect(complete(['cairnctl', '-w', ''])).toEqual(['table', 'json', 'yaml', 'simple']);
  });

  it('the scripts are valid shell', () => {
    execFileSync('bash', ['-n', '-c', bashCompletion(ROOT)]);
    try {
      execFileSync('zsh', ['--version']);
    } catch {
      return; // zsh is not installed here: bash only
    }
    execFileSync('zsh', ['-n', '-c', zshCompletion(ROOT)]);
  });
});
