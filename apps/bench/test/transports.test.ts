// Both transports against one loopback grpc-js server: same answers, same errors, streams work.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../src/grpc/connection-pool';
import { TRANSPORTS, unaryAsync, type Connection } from '../src/grpc/transport';

const passThrough = (message: Buffer): Buffer => message;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: passThrough,
  requestDeserialize: passThrough,
  responseSerialize: passThrough,
  responseDeserialize: passThrough,
});
const service = {
  Echo: method('/test.Bench/Echo', false, false),
  Fail: method('/test.Bench/Fail', false, false),
  Chat: method('/test.Bench/Chat', true, true),
};

let server: grpc.Server;
let endpoint: string;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      // Answer with the request repeated, so big answers span many HTTP/2 DATA frames.
      const times = call.request.length > 0 ? call.request[0] : 1;
      callback(null, Buffer.concat(Array.from({ length: times }, () => call.request)));
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      callback({ code: grpc.status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists (100%)' });
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (message: Buffer) => {
        if (message.toString() === 'bye') call.end();
        else call.write(Buffer.from(`re:${message.toString()}`));
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  endpoint = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
});

describe.each(TRANSPORTS)('the %s transport', (transport) => {
  let connection: Connection;

  beforeAll(async () => {
    connection = createConnection(endpoint, transport);
    await connection.ready(5000);
  });

  afterAll(() => connection.close());

  it('returns the response message bytes of a unary call', async () => {
    const response = await unaryAsync(connection, '/test.Bench/Echo', Buffer.from([2, 0x61]));
    expect([...response]).toEqual([2, 0x61, 2, 0x61]);
  });

  it('reassembles a response larger than one HTTP/2 frame', async () => {
    const request = Buffer.alloc(4000, 200); // first byte 200: answered 200 times, ~800 kB
    const response = await unaryAsync(connection, '/test.Bench/Echo', request);
    expect(response.length).toBe(800_000);
    expect(response.every((byte) => byte === 200)).toBe(true);
  });

  it('runs many calls at once on one connection', async () => {
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        unaryAsync(connection, '/test.Bench/Echo', Buffer.from([1, i % 256])),
      ),
    );
    expect(answers.map((answer) => answer[1])).toEqual(Array.from({ length: 300 }, (_, i) => i % 256));
  });

  it('reports a failed call with its gRPC code and decoded message', async () => {
    await expect(unaryAsync(connection, '/test.Bench/Fail', Buffer.from('x'))).rejects.toThrow(
      '9 FAILED_PRECONDITION: etcdserver: lease already exists (100%)',
    );
  });

  it('reports an unknown method as UNIMPLEMENTED', async () => {
    await expect(unaryAsync(connection, '/test.Bench/Nope', Buffer.from('x'))).rejects.toThrow(
      /^12 UNIMPLEMENTED/,
    );
  });

  it('carries messages both ways on a bidi stream', async () => {
    const stream = connection.bidi('/test.Bench/Chat');
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (message) => {
        received.push(message.toString());
        if (received.length === 3) resolve();
      });
      stream.on('error', reject);
      for (const word of ['a', 'b', 'c']) stream.write(Buffer.from(word));
    });
    stream.cancel();
    expect(received).toEqual(['re:a', 're:b', 're:c']);
  });
});

describe('a transport whose server is gone', () => {
  it.each(TRANSPORTS)('%s: ready() fails instead of hanging', async (transport) => {
    const connection = createConnection('127.0.0.1:1', transport);
    try {
      await expect(connection.ready(2000)).rejects.toThrow(/127\.0\.0\.1:1/);
    } finally {
      connection.close();
    }
  });
});
