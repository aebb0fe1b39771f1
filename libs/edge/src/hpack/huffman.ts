// RFC 7541 §5.2 Huffman decoding over a binary trie built once from the Appendix B table.
import { HpackError } from './errors';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table';

const EOS = 256;

// Flat trie: the children of inner node n sit at TRIE[2n] (bit 0) and TRIE[2n + 1] (bit 1). A positive child
// is another inner node, a negative one the leaf for symbol -(child + 1). Node 0 is the root; the code is
// complete (every bit string leads somewhere), so no slot stays 0 once built.
const TRIE = buildTrie();

function buildTrie(): Int32Array {
  const trie = new Int32Array(2 * HUFFMAN_CODES.length);
  let nodes = 1;
  HUFFMAN_CODES.forEach((code, symbol) => {
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[symbol] - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (trie[slot] === 0) trie[slot] = nodes++;
      node = trie[slot];
    }
    trie[2 * node + (code & 1)] = -(symbol + 1);
  });
  return trie;
}

/** Decodes a Huffman-coded string; each output char is one octet (latin1). */
export function huffmanDecode(input: Buffer): string {
  // The shortest code is 5 bits, so this bounds the output.
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let length = 0;
  let node = 0;
  let pendingBits = 0; // bits read since the last complete symbol
  let pendingAllOnes = true;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >>> bit) & 1;
      const child = TRIE[2 * node + one];
      pendingBits++;
      pendingAllOnes &&= one === 1;
      if (child >= 0) {
        node = child;
        continue;
      }
      const symbol = -child - 1;
      if (symbol === EOS) throw new HpackError('EOS in Huffman string');
      out[length++] = symbol;
      node = 0;
      pendingBits = 0;
      pendingAllOnes = true;
    }
  }
  // Padding must be a prefix of EOS (all ones) and shorter than a byte.
  if (pendingBits > 7 || !pendingAllOnes) throw new HpackError('bad Huffman padding');
  return out.toString('latin1', 0, length);
}
