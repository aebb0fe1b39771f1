// RFC 7541 header block decoder. Besides names and values it reports where each field sits in the block and
// how it was represented, so a caller can re-emit a block with one field changed and the rest byte-for-byte.
import { DynamicTable, type HeaderEntry } from './dynamic-table';
import { HpackError } from './errors';
import { decodeInteger } from './integer';
import { STATIC_TABLE } from './static-table';
import { decodeString } from './string';

export type FieldRepresentation = 'indexed' | 'incremental' | 'without-indexing' | 'never-indexed';

export interface DecodedField extends HeaderEntry {
  readonly representation: FieldRepresentation;
  /** Offset of the field's first octet in the block. */
  readonly start: number;
  /** Offset of the value's string literal; equals `end` for an indexed field. */
  readonly valueStart: number;
  /** Offset just past the field. */
  readonly end: number;
}

/** A field's name and value; a never-indexed literal says so (decodeFields). */
export interface HeaderField extends HeaderEntry {
  readonly neverIndexed?: boolean;
}

/** The SETTINGS_HEADER_TABLE_SIZE every HTTP/2 endpoint starts with. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;

export class HpackDecoder {
  private readonly table: DynamicTable;

  /**
   * @param tableSizeLimit the SETTINGS_HEADER_TABLE_SIZE the decoding endpoint advertised: the table starts
   *   at this size and size updates may not exceed it.
   */
  constructor(private readonly tableSizeLimit = DEFAULT_HEADER_TABLE_SIZE) {
    this.table = new DynamicTable(tableSizeLimit);
  }

  /** The dynamic table, for inspection. */
  get dynamicTable(): Pick<DynamicTable, 'length' | 'size' | 'maxSize' | 'get'> {
    return this.table;
  }

  /** Decodes one complete header block, updating the dynamic table. Throws HpackError on malformed input. */
  decode(block: Buffer): DecodedField[] {
    const fields: DecodedField[] = [];
    this.parse(block, (name, value, representation, start, valueStart, end) => {
      // Spelled out: an object spread here costs microseconds per field on V8.
      fields.push({ name, value, representation, start, valueStart, end });
    });
    return fields;
  }

  /**
   * As decode(), without positions: an indexed field is the table's own entry object (no allocation), a
   * literal a new one; never-indexed literals are marked (a re-encoder must keep them never indexed). For a
   * caller that only reads names and values (the gRPC front, once per call).
   */
  decodeFields(block: Buffer): HeaderField[] {
    const fields: HeaderField[] = [];
    this.parse(block, (name, value, representation, _start, _valueStart, _end, entry) => {
      if (entry !== undefined) fields.push(entry);
      else if (representation === 'never-indexed') fields.push({ name, value, neverIndexed: true });
      else fields.push({ name, value });
    });
    return fields;
  }

  private parse(
    block: Buffer,
    field: (
      name: string,
      value: string,
      representation: FieldRepresentation,
      start: number,
      valueStart: number,
      end: number,
      /** The table entry an indexed field is. */
      entry?: HeaderEntry,
    ) => void,
  ): void {
    let fields = 0;
    let pos = 0;
    while (pos < block.length) {
      const start = pos;
      const first = block[pos];
      if (first & 0x80) {
        const index = decodeInteger(block, pos, 7);
        pos = index.next;
        const entry = this.lookup(index.value);
        field(entry.name, entry.value, 'indexed', start, pos, pos, entry);
        fields++;
        continue;
      }
      if ((first & 0xe0) === 0x20) {
        // §4.2: a size update may only open a block.
        if (fields > 0) throw new HpackError('table size update after a field');
        const size = decodeInteger(block, pos, 5);
        if (size.value > this.tableSizeLimit) throw new HpackError('table size update above the limit');
        this.table.setMaxSize(size.value);
        pos = size.next;
        continue;
      }
      const representation: FieldRepresentation =
        (first & 0xc0) === 0x40
          ? 'incremental'
          : (first & 0xf0) === 0x10
            ? 'never-indexed'
            : 'without-indexing';
      const nameIndex = decodeInteger(block, pos, representation === 'incremental' ? 6 : 4);
      let name: string;
      if (nameIndex.value === 0) {
        const literal = decodeString(block, nameIndex.next);
        name = literal.value;
        pos = literal.next;
      } else {
        name = this.lookup(nameIndex.value).name;
        pos = nameIndex.next;
      }
      const valueStart = pos;
      const value = decodeString(block, pos);
      pos = value.next;
      if (representation === 'incremental') this.table.add(name, value.value);
      field(name, value.value, representation, start, valueStart, pos);
      fields++;
    }
  }

  private lookup(index: number): HeaderEntry {
    const entry =
      index === 0
        ? undefined
        : index <= STATIC_TABLE.length
          ? STATIC_TABLE[index - 1]
          : this.table.get(index - STATIC_TABLE.length - 1);
    if (!entry) throw new HpackError(`bad table index ${index}`);
    return entry;
  }
}
