import { describe, expect, it } from 'vitest';
import { frameMessage, MessageDeframer } from '../src/grpc/grpc-framing';

function collect(): { deframer: MessageDeframer; messages: string[] } {
  const messages: string[] = [];
  return { deframer: new MessageDeframer((m) => messages.push(m.toString())), messages };
}

describe('gRPC message framing', () => {
  it('prefixes a message with a zero flag byte and its big-endian length', () => {
    expect(frameMessage(Buffer.from('abc')).toString('hex')).toBe('0000000003616263');
  });

  it('gives back several messages that arrive in one chunk', () => {
    const { deframer, messages } = collect();
    deframer.push(
      Buffer.concat([
        frameMessage(Buffer.from('one')),
        frameMessage(Buffer.from('')),
        frameMessage(Buffer.from('three')),
      ]),
    );
    expect(messages).toEqual(['one', '', 'three']);
    expect(deframer.leftover).toBe(0);
  });

  it('reassembles a message split across chunks at every possible point', () => {
    const framed = Buffer.concat([
      frameMessage(Buffer.from('hello world')),
      frameMessage(Buffer.from('bye')),
    ]);
    for (let cut = 1; cut < framed.length; cut++) {
      const { deframer, messages } = collect();
      deframer.push(framed.subarray(0, cut));
      deframer.push(framed.subarray(cut));
      expect(messages, `cut at ${cut}`).toEqual(['hello world', 'bye']);
    }
  });

  it('handles a message that trickles in one byte at a time', () => {
    const { deframer, messages } = collect();
    const framed = frameMessage(Buffer.alloc(300, 0x61));
    for (const byte of framed) deframer.push(Buffer.from([byte]));
    expect(messages).toEqual(['a'.repeat(300)]);
  });

  it('refuses compressed messages, which it cannot read', () => {
    const { deframer } = collect();
    expect(() => deframer.push(Buffer.from([1, 0, 0, 0, 0]))).toThrow(/compressed/);
  });
});
