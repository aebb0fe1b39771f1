// The Watch stream's direct writer finds the HTTP/2 stream under a grpc-js server call (a grpc-js upgrade that
// moves it shows here, not as a silent fallback), and its messages reach a grpc-js client in order, framed, with
// grpc-js's headers before them and its status after them (a turn's messages are written together at the end of
// the turn, or by flush() before the call ends).
import * as grpc from '@grpc/grpc-js';
import { afterEach, expect, it } from 'vitest';
import { directWatchWriter } from '../src/grpc/watch-stream-writer';

const identity = (value: Buffer): Buffer => value;
const definition: grpc.ServiceDefinition = {
  Echo: {
    path: '/test.Test/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

it('writes buffers and serialized objects in order, then grpc-js ends the call with OK', async () => {
  const server = new grpc.Server();
  let found = false;
  const written: string[] = [];
  server.addService(definition, {
    Echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const write = directWatchWriter(call as grpc.ServerDuplexStream<unknown, unknown>, (value) =>
        Buffer.from(JSON.stringify(value)),
      );
      found = write !== undefined;
      if (!write) return call.end();
      write({ n: 1 }, () => written.push('1'));
      for (let i = 2; i <= 30; i++) {
        // m20 is big: written on its own, after the ones before it.
        const body = i === 20 ? Buffer.alloc(20_000, 'm') : Buffer.from(`m${i}`);
        write(body, () => written.push(String(i)));
      }
      // A later turn's responses follow this turn's (which go out in one write at the end of the turn).
      setImmediate(() => {
        for (let i = 31; i <= 50; i++) write(Buffer.from(`m${i}`), () => written.push(String(i)));
        // What this turn queued goes before the status.
        write.flush();
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  cleanups.push(() => server.forceShutdown());
  const Client = grpc.makeGenericClientConstructor(definition, 'Test');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  cleanups.push(() => client.close());
  const call = (client as unknown as { Echo(): grpc.ClientDuplexStream<Buffer, Buffer> }).Echo();
  const received: string[] = [];
  call.on('data', (message: Buffer) => received.push(message.toString()));
  const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  expect(found).toBe(true);
  expect(status.code).toBe(grpc.status.OK);
  expect(received).toEqual([
    '{"n":1}',
    ...Array.from({ length: 49 }, (_, i) => (i + 2 === 20 ? 'm'.repeat(20_000) : `m${i + 2}`)),
  ]);
  expect(written).toHaveLength(50);
});
