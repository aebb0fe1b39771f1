// Argument checks every config operation shares: names, item references, gray rules, and the error for
// content that does not validate against its format and schema.
import { ConfigError } from './errors';
import { isValidName } from './keys';
import type { ConfigFormat, GrayRule, ValidationIssue } from './types';

export interface ItemRef {
  namespace: string;
  app: string;
  name: string;
}

/** Optimistic writes retry this often when they lose a race they may retry, then answer conflict. */
export const MAX_ATTEMPTS = 8;

export function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !isValidName(name)) {
    throw new ConfigError(
      'bad-request',
      `invalid ${what} "${String(name)}": 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
}

export function checkRef(ref: ItemRef): void {
  checkName('namespace', ref.namespace);
  checkName('app', ref.app);
  checkName('item name', ref.name);
}

export function checkRule(rule: GrayRule): GrayRule {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.labels ?? {})) labels[String(k)] = String(v);
  const percentage =
    rule.percentage === undefined || rule.percentage === null ? 100 : Number(rule.percentage);
  if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) {
    throw new ConfigError('bad-request', 'gray percentage must be an integer from 0 to 100');
  }
  if (Object.keys(labels).length === 0 && percentage >= 100) {
    throw new ConfigError('bad-request', 'a gray release needs labels or a percentage below 100');
  }
  return { labels, percentage };
}

/** The error for content that failed validation: the first issue, with its position when it has one. */
export function invalidContent(format: ConfigFormat, issues: ValidationIssue[]): ConfigError {
  const first = issues[0];
  const where = first.line > 0 ? ` (line ${first.line}, column ${first.column})` : '';
  return new ConfigError('invalid', `invalid ${format}: ${first.message}${where}`, issues);
}

export function itemNotFound(ref: ItemRef): ConfigError {
  return new ConfigError('not-found', `config item ${ref.namespace}/${ref.app}/${ref.name} not found`);
}
