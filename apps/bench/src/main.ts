// Entry point: `node apps/bench/dist/main.js <command> [flags]`.
import { runCli } from './cli/run-cli';

// When the reader goes away (`bench ... | head`), stop printing but let the command finish, so a
// compare run still stops its servers.
let stdoutOpen = true;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutOpen = false;
});

runCli(
  process.argv.slice(2),
  (line) => {
    if (stdoutOpen) process.stdout.write(`${line}\n`);
  },
  (line) => process.stderr.write(`${line}\n`),
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
