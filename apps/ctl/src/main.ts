// cairnctl's process entry: wires the real stdout/stderr/env/TTY and Ctrl-C into runCli and exits with its code.
import { runCli } from './cli';
import { ttyPasswordPrompt } from './context';

// Node's deprecation notices (e.g. DEP0123 for TLS to an IP endpoint, from grpc-js) are not the user's concern.
process.noDeprecation = true;

const abort = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first Ctrl-C asks the running command to stop cleanly; a second one exits at once.
    if (++interrupts > 1) process.exit(5);
    abort.abort();
  });
}

const prompt = ttyPasswordPrompt(process.stdin, process.stderr);
runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: abort.signal,
  ...(prompt ? { promptPassword: prompt } : {}),
}).then(
  (code) => {
    process.exitCode = code;
    // Pending gRPC channel timers must not keep a finished command alive.
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(
      `Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
