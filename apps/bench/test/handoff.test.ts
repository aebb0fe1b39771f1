import { describe, expect, it } from 'vitest';
import { packFrames, unpackFrames } from '../src/handoff/frames';
import { createRingBuffer, RingConsumer, RingProducer } from '../src/handoff/shared-ring';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('packed frames', () => {
  it('round-trips frames of any length, empty ones included', () => {
    const frames = [bytes(1, 2, 3), bytes(), bytes(9), new Uint8Array(1000).fill(5)];
    expect(unpackFrames(packFrames(frames))).toEqual(frames);
  });
});

describe('shared ring', () => {
  it('delivers every record in order across many wrap-arounds of a small ring', async () => {
    const buffer = createRingBuffer(64);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    const received: number[] = [];
    const done = consumer.consume((record) => {
      received.push(record[0]!);
      if (received.length === 200) consumer.stop();
    });
    for (let i = 0; i < 200; i++) {
      const record = new Uint8Array(1 + (i % 13)).fill(i % 256);
      // A full ring refuses the record; the consumer drains it on its own event-loop turn.
      while (!producer.publish(record)) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i % 256));
  });

  it('refuses a record that does not fit instead of overwriting unread ones', () => {
    const producer = new RingProducer(createRingBuffer(32));
    expect(producer.publish(new Uint8Array(20))).toBe(true);
    expect(producer.publish(new Uint8Array(20))).toBe(false);
  });
});
