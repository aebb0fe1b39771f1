// The keys that encrypt secret config items at rest (--config-encryption-key-file). The file holds one key a
// line, `<keyId>:<base64 of 32 bytes>`; blank lines and lines starting with '#' are ignored. The first key is
// the active one (every new encryption uses it); the others only decrypt what was written under them, which
// is what makes rotation possible: add the new key on top, re-publish the secret items, then drop the old key.
import { readFileSync } from 'node:fs';

/** A key ID names a key inside an envelope: short, no ':' (the envelope's separator). */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const KEY_BYTES = 32;

export class KeyRing {
  private constructor(
    /** The key new encryptions use (the file's first). */
    readonly activeId: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
  ) {}

  /** Parses a key file's text; throws a message naming the line that is wrong (refused at start). */
  static parse(text: string, source = 'the config encryption key file'): KeyRing {
    const keys = new Map<string, Buffer>();
    let activeId = '';
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const where = `${source}, line ${index + 1}`;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`${where}: expected <keyId>:<base64 of ${KEY_BYTES} bytes>`);
      const id = line.slice(0, colon);
      if (!KEY_ID.test(id)) throw new Error(`${where}: key ID "${id}" must be 1-64 of [A-Za-z0-9._-]`);
      const key = Buffer.from(line.slice(colon + 1).trim(), 'base64');
      if (key.length !== KEY_BYTES) {
        throw new Error(`${where}: key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
      }
      if (keys.has(id)) throw new Error(`${where}: key ID "${id}" appears twice`);
      keys.set(id, key);
      activeId ||= id;
    });
    if (keys.size === 0) throw new Error(`${source} holds no key`);
    return new KeyRing(activeId, keys);
  }

  /** Reads and parses the file (once, at start: a rotation is a restart, as for etcd's own key files). */
  static load(file: string): KeyRing {
    return KeyRing.parse(readFileSync(file, 'utf8'), file);
  }

  key(id: string): Buffer | undefined {
    return this.keys.get(id);
  }

  get activeKey(): Buffer {
    return this.keys.get(this.activeId) as Buffer;
  }
}
