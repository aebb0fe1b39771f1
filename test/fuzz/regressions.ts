// Reproducers of what the fuzzers found (FINDINGS.md), as raw bytes so they outlive changes to the
// generators: each is replayed on the member (client and peer URL) in the default suite, every run.

export interface Regression {
  /** FINDINGS.md entry. */
  readonly id: string;
  readonly what: string;
  /** Where the fuzzer found it (generator, seed, input index at the time). */
  readonly foundBy: string;
  /** The bytes, written on one fresh TCP connection (client URL, then peer URL) in one write. */
  readonly hex: string;
}

/** F4's bytes, built here (150 KB) rather than spelled out: the frames are simple, the block is one octet repeated. */
function hpackReferenceBomb(): string {
  const frame = (type: number, flags: number, id: number, payload: Buffer): Buffer => {
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(id, 5);
    return Buffer.concat([header, payload]);
  };
  const literal = (name: string, value: string | Buffer, first = 0x00): Buffer => {
    const v = Buffer.from(value);
    const length =
      v.length < 127
        ? Buffer.from([v.length])
        : Buffer.from([127, ((v.length - 127) % 128) | 128, (v.length - 127) >> 7]);
    return Buffer.concat([Buffer.from([first, name.length]), Buffer.from(name), length, v]);
  };
  const request = (path: string): Buffer =>
    Buffer.concat([
      literal(':method', 'POST'),
      literal(':scheme', 'http'),
      literal(':path', path),
      literal('content-type', 'application/grpc'),
    ]);
  // KV/Range of /fuzz/: the first request, so the gRPC front takes the connection.
  const range = Buffer.from('00000000080a062f66757a7a2f', 'hex');
  const block = Buffer.concat([
    request('/grpc.health.v1.Health/Check'),
    literal('x-big', Buffer.alloc(4000, 0x62), 0x40), // into the client's table as entry 62
    Buffer.alloc(9 * 16_384 - 4200, 0x80 | 62), // ~143,000 one-octet references to it
  ]);
  const frames = [
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
    frame(4, 0, 0, Buffer.alloc(0)),
    frame(1, 0x4, 1, request('/etcdserverpb.KV/Range')),
    frame(0, 0x1, 1, range),
  ];
  for (let at = 0, i = 0; at < block.length; at += 16_384, i++) {
    const last = at + 16_384 >= block.length ? 0x4 : 0;
    frames.push(frame(i === 0 ? 1 : 9, last | (i === 0 ? 0x1 : 0), 3, block.subarray(at, at + 16_384)));
  }
  return Buffer.concat(frames).toString('hex');
}

export const REGRESSIONS: readonly Regression[] = [
  {
    id: 'F1',
    what:
      'HTTP/2 requests without a gRPC content-type / with an unknown method, one reset by RST_STREAM in the same ' +
      'write: ERR_HTTP2_INVALID_STREAM from grpc-js _verifyContentType ended the process (fixed in 07bc18f)',
    foundBy: 'h2 seed 14001 input 48',
    hex:
      '505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000004000000000000006801050000000100073a6d6574686f' +
      '6404504f535400073a736368656d65046874747000053a706174681c2f677270632e6865616c74682e76312e4865616c7468' +
      '2f436865636b000a3a617574686f726974790e3132372e302e302e313a323337390002746508747261696c65727300000403' +
      '00000000010000000200006901040000000300073a6d6574686f6404504f535400073a736368656d650000053a7061746820' +
      '2f6574636473657276657270622e436c75737465722f4d656d6265724c697374000a3a617574686f726974790f6576696c2e' +
      '6578616d706c653a38300002746508747261696c657273000005000100000003000000000000008d01040000000500073a6d' +
      '6574686f6404504f535400073a736368656d65046874747000053a70617468162f6574636473657276657270622e4b562f52' +
      '616e6765000a3a617574686f72697479096c6f63616c686f7374000c636f6e74656e742d74797065106170706c6963617469' +
      '6f6e2f677270630002746508747261696c657273000c677270632d74696d656f757402306e00005000010000000500000000' +
      '4b0a1c2f66757a7a2f373d3c48292f582542567973746f6b5a6329665b6d5412072f66757a7a2fff188dca1f20ffffffffff' +
      'ffffff7f28024001480150d3bc14580260808080801068d6dd1100009201040000000700073a6d6574686f6404504f535400' +
      '073a736368656d65046874747000053a70617468152f6e6f2e737563682e536572766963652f43616c6c000a3a617574686f' +
      '726974790e3132372e302e302e313a32333739000c636f6e74656e742d74797065106170706c69636174696f6e2f6a736f6e' +
      '0002746508747261696c65727300053a706174680a2f6475706c69636174650000e5000100000007ca99b8bf43c93b7fbd1f' +
      '8dc5a4fafc9a26e5fa2f36852effc90f4ba0cfba97de5346718aa7ed9dac33a84789a9629782c5879c935c5f71ed7772f5f5' +
      'df89d1e97b8ffccff5e563a61c2153e759bceecdd43e4846f52dfcd2fcce6981487c064c298ee93447fa57fdc7d70fd51ac0' +
      'ef69f34bbe3ec7fa873a68b321c027b6bf58f5b2c4a2b316328fecea883e61bb43a6656249a777ba57273a88591d460b3469' +
      'bc5f7d28f089c8b7c3ced6220339f6b93e4b73b8b31fc776c691453a6d7eb2b2d5d8bd5b33bdad71ced099f3bc4d8e0eadff' +
      '818700b06121a74c20562f2a510bc4f555d921',
  },
  {
    id: 'F3',
    what:
      'preface, SETTINGS, a client GOAWAY, one HEADERS, then a SETTINGS frame of length 4 (FRAME_SIZE_ERROR): ' +
      "Node 20's nghttp2 aborts the process (nghttp2_session_mem_recv2: Assertion " +
      "`iframe->state == NGHTTP2_IB_IGN_ALL' failed, SIGABRT); a stock node:http2 or grpc-js server dies too",
    foundBy: 'h2 seed 3 input 1408 (long run), minimised to these 4 frames',
    hex:
      '505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000000040000000000000016070000000000aed4a90a00000000' +
      '000000000000000000000000000000008c01040000000100073a6d6574686f6404504f535400073a736368656d6504687474' +
      '7000053a706174681f2f636169726e2e636f6e6669672e76312e436f6e6669672f4765744974656d000a3a617574686f7269' +
      '74790f3132372e302e302e313a3431353233000c636f6e74656e742d74797065116170706c69636174696f6e2f6772706378' +
      '0002746508747261696c657273000004040000000000be582888',
  },
  {
    id: 'F4',
    what:
      'on a connection the gRPC front takes (first request KV/Range), a header block of one-octet references to a ' +
      "4,000-octet entry of the client's HPACK table (147 KB, 9 frames): the front re-encoded it for nghttp2 as " +
      'literals, ~570 MB, and the member stopped answering /health (fixed: decoded size bounded, ENHANCE_YOUR_CALM)',
    foundBy: 'h2front seed 18001 inputs 29 and 201 (250,000 references), rebuilt at 9 frames',
    hex: hpackReferenceBomb(),
  },
];
