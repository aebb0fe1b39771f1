// Structured JSON logs on stderr (pino); every line carries the member name.
import pino from 'pino';
import type { Logger } from '@cairn/server';

export function createLogger(member: string, level: string): Logger {
  return pino({ level, base: { member } }, pino.destination(2)) as unknown as Logger;
}
