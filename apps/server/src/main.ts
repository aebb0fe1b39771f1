// Process entry point of `bin/cairn`: flags -> settings -> a running member; clean shutdown on SIGTERM/SIGINT.
// First: holds the young generation at its initial size while the modules load (young-generation.ts).
import { releaseYoungGeneration } from './young-generation';
import 'reflect-metadata';
import { FlagError, helpText, readFlags } from './config/flags';
import { toSettings } from './config/settings';
import { createLogger } from './logging';
import { startCairn } from './cairn-app';
import { CAIRN_VERSION } from '@cairn/server';

async function main(): Promise<void> {
  let settings;
  try {
    const raw = readFlags(process.argv.slice(2), process.env);
    if (raw.help) {
      process.stdout.write(helpText() + '\n');
      return;
    }
    if (raw.version) {
      process.stdout.write(`cairn Version: ${CAIRN_VERSION}\n`);
      return;
    }
    settings = toSettings(raw);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`cairn: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const logger = createLogger(settings.name, settings.logLevel);
  const app = await startCairn(settings, logger);
  releaseYoungGeneration();
  for (const url of app.clientUrls) {
    process.stdout.write(
      `cairn: member ${settings.name} serving clients on ${url} (gRPC, JSON gateway, /health, /metrics); console at ${url}/\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err: String(err) }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`cairn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
