// Secret item content at rest: AES-256-GCM under the key ring's active key, in a self-describing text
// envelope `cairn-secret:v1:<keyId>:<base64(iv ‖ ciphertext ‖ tag)>`. The envelope is what the KV, the
// release history and the audit archive hold; only the config center opens it, and only after the caller's
// own read of the key succeeded (reads go through the EtcdPort with the caller's identity, so decrypting
// after a permitted read is "decrypted only for callers with READ").
//
// The item's path (ns/app/name) is the GCM additional data: an envelope copied onto another item (by
// someone who may write there but not read here) does not open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SECRET_ENVELOPE_PREFIX, SECRET_MASK } from '@cairn/audit';
import { ConfigError } from '../errors';
import type { ItemRef } from '../checks';
import type { KeyRing } from './key-ring';

/** The envelope's marker is the audit archive's (it masks every value that holds one). */
export const ENVELOPE_PREFIX = SECRET_ENVELOPE_PREFIX;
/** What a secret's content is replaced with wherever it is shown rather than used. */
export { SECRET_MASK };

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function isEnvelope(text: string): boolean {
  return text.startsWith(ENVELOPE_PREFIX);
}

export class SecretBox {
  constructor(private readonly ring: KeyRing | undefined) {}

  /** True when a key file was given: only then may an item be marked secret. */
  get enabled(): boolean {
    return this.ring !== undefined;
  }

  /** Refuses (400) marking an item secret on a member without a key file. */
  requireEnabled(): void {
    if (!this.ring) {
      throw new ConfigError(
        'bad-request',
        'secret items need an encryption key: start the member with --config-encryption-key-file ' +
          '(docs/config.md#secret-items)',
      );
    }
  }

  /** The envelope of `plaintext` for item `ref`, under the active key. */
  seal(ref: ItemRef, plaintext: string): string {
    this.requireEnabled();
    const ring = this.ring as KeyRing;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', ring.activeKey, iv);
    cipher.setAAD(aad(ref));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
    return `${ENVELOPE_PREFIX}${ring.activeId}:${sealed}`;
  }

  /** The plaintext of content read from the KV: an envelope is opened, anything else is returned as is. */
  open(ref: ItemRef, stored: string): string {
    if (!isEnvelope(stored)) return stored;
    const rest = stored.slice(ENVELOPE_PREFIX.length);
    const colon = rest.indexOf(':');
    const keyId = rest.slice(0, colon);
    const key = this.ring?.key(keyId);
    if (colon <= 0 || !key) {
      throw new ConfigError(
        'unavailable',
        `${ref.namespace}/${ref.app}/${ref.name} is encrypted under key "${keyId}", ` +
          "which is not in this member's --config-encryption-key-file",
      );
    }
    const raw = Buffer.from(rest.slice(colon + 1), 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(aad(ref));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new ConfigError(
        'unavailable',
        `the encrypted content of ${ref.namespace}/${ref.app}/${ref.name} does not open (tampered, or not this item's)`,
      );
    }
  }

  /** What to store for `plaintext`: the envelope for a secret item, the bytes themselves otherwise. */
  store(ref: ItemRef, secret: boolean | undefined, plaintext: string): string {
    return secret ? this.seal(ref, plaintext) : plaintext;
  }
}

function aad(ref: ItemRef): Buffer {
  return Buffer.from(`${ref.namespace}/${ref.app}/${ref.name}`);
}
