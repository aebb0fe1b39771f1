// Every process a test spawns goes through here: it is recorded by PID, its output is captured (bounded),
// and it is killed when the test file ends, when the worker exits, or (through the PID files read by
// global-setup.ts) when the whole run ends, so nothing leaks even if a test or a worker dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short label used in error messages. */
  label: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes of stdout and of stderr kept (the most recent ones). Default 256 KiB each. */
  keepBytes?: number;
  /** Text written to stdin, which is then closed. Without it stdin is /dev/null. */
  stdin?: string;
}

/** Keeps the last `limit` bytes written to it. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | undefined;
  private readonly stdoutTail: OutputTail;
  private readonly stderrTail: OutputTail;
  private readonly outputListeners = new Set<() => void>();

  constructor(
    readonly label: string,
    readonly command: string,
    private readonly child: ChildProcess,
    keepBytes: number,
  ) {
    if (child.pid === undefined) throw new Error(`${label}: spawn of ${command} gave no pid`);
    this.pid = child.pid;
    this.stdoutTail = new OutputTail(keepBytes);
    this.stderrTail = new OutputTail(keepBytes);
    child.stdout?.on('data', (chunk: Buffer) => this.onOutput(this.stdoutTail, chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.onOutput(this.stderrTail, chunk));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitStatus = { code, signal };
        forget(this);
        this.notifyOutput();
        resolve(this.exitStatus);
      });
    });
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  stdout(): string {
    return this.stdoutTail.text();
  }

  stderr(): string {
    return this.stderrTail.text();
  }

  /** The captured output, for a failure message. */
  describeOutput(maxChars = 4000): string {
    const cut = (text: string) => (text.length > maxChars ? `…${text.slice(-maxChars)}` : text);
    return `--- ${this.label} (pid ${this.pid}) stdout tail ---\n${cut(this.stdout())}\n--- stderr tail ---\n${cut(this.stderr())}`;
  }

  /** Resolves when `predicate(stdout)` holds; rejects after `timeoutMs` or if the process exits first. */
  async waitForStdout(predicate: (stdout: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const text = this.stdout();
        if (predicate(text)) {
          done();
          resolve(text);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.label} exited before the expected output\n${this.describeOutput()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.label}: expected output not seen within ${timeoutMs} ms\n${this.describeOutput()}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.outputListeners.delete(check);
      };
      this.outputListeners.add(check);
      check();
    });
  }

  /** Sends a signal to the process group (the process and anything it started). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Group already gone: fall back to the single PID, ignoring "no such process".
      try {
        process.kill(this.pid, signal);
      } catch {
        /* already exited */
      }
    }
  }

  /** SIGKILL and wait until the OS has reaped it. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async terminate(graceMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
    return this.exited;
  }

  private onOutput(tail: OutputTail, chunk: Buffer): void {
    tail.push(chunk);
    this.notifyOutput();
  }

  private notifyOutput(): void {
    for (const listener of [...this.outputListeners]) listener();
  }
}

const live = new Map<number, ManagedProcess>();

/** Directory shared with global-setup.ts; absent when a test file runs outside vitest's global setup. */
function pidFileDir(): string | undefined {
  return process.env['CAIRN_E2E_PID_DIR'];
}

function remember(proc: ManagedProcess): void {
  live.set(proc.pid, proc);
  const dir = pidFileDir();
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, String(proc.pid)), proc.command);
  }
}

function forget(proc: ManagedProcess): void {
  live.delete(proc.pid);
  const dir = pidFileDir();
  if (dir !== undefined) rmSync(join(dir, String(proc.pid)), { force: true });
}

/**
 * Starts `command` in its own process group (so a kill reaches anything it forks) with piped, captured
 * output, and records it for cleanup.
 */
export function spawnManaged(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  // Spawn failures (and kill errors) arrive as 'error' events; without a listener they would crash the worker.
  child.on('error', () => {
    /* a missing binary is reported below; anything else shows up in the exit status */
  });
  if (child.pid === undefined) {
    throw new Error(`${options.label}: could not start ${command} (is it installed and executable?)`);
  }
  const proc = new ManagedProcess(options.label, command, child, options.keepBytes ?? 256 * 1024);
  if (options.stdin !== undefined && child.stdin) {
    child.stdin.on('error', () => {
      /* the process may exit before reading all of stdin */
    });
    child.stdin.end(options.stdin);
  }
  remember(proc);
  return proc;
}

export function liveProcesses(): ManagedProcess[] {
  return [...live.values()];
}

/** Terminates every process still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function terminateAll(graceMs = 3000): Promise<void> {
  await Promise.all(liveProcesses().map((proc) => proc.terminate(graceMs)));
}

function killAllNow(): void {
  for (const proc of liveProcesses()) {
    proc.signal('SIGKILL');
    forget(proc);
  }
}

// Last line of defence inside this worker: synchronous kills when it exits or is interrupted.
process.once('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.kill(process.pid, signal);
  });
}
