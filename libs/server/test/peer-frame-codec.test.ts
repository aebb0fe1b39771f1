// The hand codec of the Stream RPC's messages against protobufjs (what proto-loader, grpc-js and a previous
// Cairn build use for peer.proto): same bytes out, same values in, unknown fields skipped, bad input refused.
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  FrameCodecError,
  decodeStreamFrame,
  decodeStreamReply,
  encodeFrameHeader,
  encodeGrpcStreamFrame,
  encodeStreamFrame,
  encodeStreamReply,
} from '../src/peer/frame-codec';
import { peerServiceDefinition, type StreamFrame, type StreamReply } from '../src/peer/proto';

const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const stream = peerServiceDefinition().Stream as grpc.MethodDefinition<StreamFrame, StreamReply>;

const frames = [
  { clusterId: 0xc1a57e11n, from: 0xa1n, to: 0xb2n, messages: Buffer.from('raft batch') },
  { clusterId: MAX_U64, from: 0x96531329e56d0b53n, to: 0x8cc5c22c0ade9befn, messages: Buffer.alloc(300, 7) },
  { clusterId: 0n, from: 1n, to: 2n ** 63n, messages: Buffer.alloc(0) },
];

describe('StreamFrame codec', () => {
  it.each(frames)('reads what protobufjs writes and writes what it reads (cluster $clusterId)', (frame) => {
    const ours = encodeStreamFrame(frame);
    const theirs = stream.requestSerialize({
      cluster_id: frame.clusterId.toString(),
      from: frame.from.toString(),
      to: frame.to.toString(),
      messages: frame.messages,
    });
    // protobufjs also writes zero and empty fields; proto3 leaves them out, and so do we.
    const hasDefaults = frame.clusterId === 0n || frame.messages.length === 0;
    if (!hasDefaults) expect(ours.toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    expect(decodeStreamFrame(Buffer.from(theirs))).toEqual(frame);
    expect(stream.requestDeserialize(ours)).toMatchObject({
      cluster_id: frame.clusterId.toString(),
      from: frame.from.toString(),
      to: frame.to.toString(),
    });
  });

  it('frames a message for gRPC: flag 0, big-endian length, the encoding', () => {
    const frame = frames[1];
    const header = encodeFrameHeader(frame.clusterId, frame.from, frame.to);
    const grpcMessage = encodeGrpcStreamFrame(header, frame.messages);
    expect(grpcMessage[0]).toBe(0);
    expect(grpcMessage.readUInt32BE(1)).toBe(grpcMessage.length - 5);
    expect(grpcMessage.subarray(5)).toEqual(encodeStreamFrame(frame));
  });

  it('skips fields it does not know, of every wire type, and takes the last of a repeated field', () => {
    const known = encodeStreamFrame(frames[0]);
    const unknown = Buffer.from([
      (9 << 3) | 0,
      0x96,
      0x01, // varint
      (10 << 3) | 1,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // fixed64
      (11 << 3) | 2,
      3,
      0xaa,
      0xbb,
      0xcc, // bytes
      (12 << 3) | 5,
      1,
      2,
      3,
      4, // fixed32
      (2 << 3) | 0,
      0x07, // `from` again: the last one wins, as in protobuf
    ]);
    expect(decodeStreamFrame(Buffer.concat([known, unknown]))).toEqual({ ...frames[0], from: 7n });
  });

  it.each([
    ['a truncated varint', Buffer.from([0x08, 0xff])],
    ['a varint longer than 10 bytes', Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])],
    ['bytes longer than the frame', Buffer.from([0x22, 0x05, 0x01])],
    ['a truncated fixed64', Buffer.from([(9 << 3) | 1, 1, 2])],
    ['a group wire type', Buffer.from([(9 << 3) | 3])],
    ['field number 0', Buffer.from([0x00, 0x01])],
  ])('refuses %s with INVALID_ARGUMENT', (_name, bytes) => {
    expect(() => decodeStreamFrame(bytes)).toThrow(FrameCodecError);
    try {
      decodeStreamFrame(bytes);
    } catch (err) {
      expect((err as FrameCodecError).code).toBe(3);
    }
  });
});

describe('StreamReply codec', () => {
  it.each([0x85a82a313e81daa0n, 1n, MAX_U64])('matches protobufjs for member %s', (memberId) => {
    const theirs = Buffer.from(stream.responseSerialize({ member_id: memberId.toString() }));
    expect(encodeStreamReply(memberId)).toEqual(theirs);
    expect(decodeStreamReply(theirs)).toBe(memberId);
    expect(stream.responseDeserialize(encodeStreamReply(memberId))).toEqual({
      member_id: memberId.toString(),
    });
  });
});
