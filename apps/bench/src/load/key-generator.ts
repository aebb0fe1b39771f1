// Keys of a fixed size over a key space, like etcd's benchmark: random or sequential indexes
// written as zero-padded decimal (readable in etcdctl, and every key has the same length).

export interface KeyGeneratorOptions {
  keySize: number;
  keySpace: number;
  sequential: boolean;
  prefix?: string;
  random?: () => number;
}

export class KeyGenerator {
  private readonly prefix: Buffer;
  private readonly digits: number;
  private readonly random: () => number;

  constructor(private readonly options: KeyGeneratorOptions) {
    this.prefix = Buffer.from(options.prefix ?? '');
    this.digits = options.keySize - this.prefix.length;
    const needed = String(Math.max(0, options.keySpace - 1)).length;
    if (this.digits < needed) {
      throw new Error(
        `--key-size ${options.keySize} is too small for prefix "${options.prefix ?? ''}" and key space ${options.keySpace} (needs ${this.prefix.length + needed} bytes)`,
      );
    }
    this.random = options.random ?? Math.random;
  }

  /** Key for request number `sequence`. */
  keyFor(sequence: number): Buffer {
    const index = this.options.sequential
      ? sequence % this.options.keySpace
      : Math.floor(this.random() * this.options.keySpace);
    return this.keyAt(index);
  }

  keyAt(index: number): Buffer {
    const key = Buffer.allocUnsafe(this.options.keySize);
    this.prefix.copy(key, 0);
    let rest = index;
    for (let position = this.options.keySize - 1; position >= this.prefix.length; position--) {
      key[position] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    return key;
  }
}

/** Reads back the decimal index written by `keyAt` after `prefixLength` bytes; -1 if not digits. */
export function indexOfKey(key: Uint8Array, prefixLength: number): number {
  if (key.length <= prefixLength) return -1;
  let index = 0;
  for (let position = prefixLength; position < key.length; position++) {
    const digit = key[position] - 0x30;
    if (digit < 0 || digit > 9) return -1;
    index = index * 10 + digit;
  }
  return index;
}
