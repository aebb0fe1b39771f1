// A logger that drops everything: the default when the driver injects none.
import type { RaftLogger } from './contracts';

const ignore = (): void => undefined;

export const noopLogger: RaftLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
