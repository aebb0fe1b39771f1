// One server process (etcd or Cairn) started by the benchmark: its output goes to a log file,
// and it is stopped by its PID: SIGTERM first, SIGKILL if it does not exit in time.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ServerProcessSpec {
  /** e.g. "etcd-1" */
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export class ServerProcess {
  readonly pid: number;
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  private readonly exitedPromise: Promise<void>;

  private constructor(
    readonly spec: ServerProcessSpec,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${spec.name}: ${spec.command} did not start`);
    this.pid = child.pid;
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  static start(spec: ServerProcessSpec): Promise<ServerProcess> {
    const logFd = openSync(spec.logFile, 'a');
    try {
      const child = spawn(spec.command, spec.args, {
        stdio: ['ignore', logFd, logFd],
        env: spec.env ?? process.env,
      });
      return new Promise((resolve, reject) => {
        child.once('error', (error) =>
          reject(new Error(`${spec.name}: cannot start ${spec.command}: ${error.message}`)),
        );
        child.once('spawn', () => resolve(new ServerProcess(spec, child)));
      });
    } finally {
      closeSync(logFd); // the child has its own copy
    }
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  describeExit(): string {
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops the process by PID; resolves once it has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const exited = await Promise.race([
      this.exitedPromise.then(() => true),
      delay(graceMs).then(() => false),
    ]);
    if (!exited) {
      this.signal('SIGKILL');
      await this.exitedPromise;
    }
  }

  /** Last-resort synchronous kill, for process 'exit' handlers. */
  killNow(): void {
    if (this.running) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
