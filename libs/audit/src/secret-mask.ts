// Sealed values never show in audit views. A feature that encrypts a value at rest (the config center's
// secret items) stores a text envelope starting with SECRET_ENVELOPE_PREFIX; the archive keeps those bytes as
// they were written (encrypted, like the KV), and every view of them — a whole value that is an envelope, or an
// envelope inside a JSON record — shows SECRET_MASK instead.

/** The start of a sealed value (`cairn-secret:v1:<keyId>:<base64>`, libs/config secrets/secret-box.ts). */
export const SECRET_ENVELOPE_PREFIX = 'cairn-secret:v1:';
export const SECRET_MASK = '******';

const ENVELOPE = /cairn-secret:v1:[A-Za-z0-9._-]+:[A-Za-z0-9+/=]*/g;

/** `text` with every sealed value in it replaced by the mask. */
export function maskSecrets(text: string): string {
  return text.includes(SECRET_ENVELOPE_PREFIX) ? text.replace(ENVELOPE, SECRET_MASK) : text;
}

/** Whether the bytes hold a sealed value anywhere (then they are shown masked, as text). */
export function holdsSecret(value: Uint8Array): boolean {
  return Buffer.from(value).includes(SECRET_ENVELOPE_PREFIX);
}
