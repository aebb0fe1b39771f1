// etcdctl's -w json shape of a gRPC response: Go's encoding/json of the gogoproto struct, i.e. proto field
// names, int64/uint64 as bare numbers, and zero values (0, "", false, empty lists, null) left out
// (omitempty). Walks the message's protobufjs type from @cairn/api so that every field converts by its type.
import { messageType } from '@cairn/api';
import type { Type } from 'protobufjs';

const INTEGER64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function isZero(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === 0 ||
    value === 0n ||
    value === '' ||
    value === false ||
    (Array.isArray(value) && value.length === 0) ||
    (Buffer.isBuffer(value) && value.length === 0)
  );
}

function convertMessage(type: Type, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    const convertOne = (value: unknown): unknown => {
      if (value === null || value === undefined) return undefined;
      if (field.resolvedType && 'fieldsArray' in field.resolvedType)
        return convertMessage(field.resolvedType as Type, value as Record<string, unknown>);
      if (INTEGER64.has(field.type)) return BigInt(value as string);
      if (Buffer.isBuffer(value)) return value;
      return value;
    };
    const raw = message[field.name];
    const value = field.repeated && Array.isArray(raw) ? raw.map(convertOne) : convertOne(raw);
    if (!isZero(value)) out[field.name] = value;
  }
  return out;
}

/** `message` (decoded with LOADER_OPTIONS) of proto type `typeName` (e.g. `etcdserverpb.StatusResponse`). */
export function etcdJson(typeName: string, message: object): Record<string, unknown> {
  return convertMessage(messageType(typeName), message as Record<string, unknown>);
}

/** A member ID as etcdctl prints it: lower-case hex without padding (`%x`). */
export function hexId(id: string | bigint): string {
  return BigInt(id).toString(16);
}

/** A hex member ID argument (etcdctl's strconv.ParseUint(arg, 16, 64)). */
export function parseHexId(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new Error(`bad member ID arg (${text}), expecting ID in Hex`);
  return BigInt(`0x${text}`);
}

/** Go's time.Duration.String() of a duration in milliseconds (`914.783µs`, `2.001190505s`, `1m30s`). */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${trimZeros((ns / 1e3).toFixed(3))}µs`;
  if (ns < 1e9) return `${trimZeros((ns / 1e6).toFixed(6))}ms`;
  let rest = ns / 1e9;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${trimZeros(rest.toFixed(9))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
