// The bypasses of library internals must engage on the versions this project pins: a probe that silently
// starts failing (after a grpc-js or Node upgrade, or a change here) would quietly turn a fast path off. If
// the pinned versions change on purpose, re-check each bypass and update PINNED.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  probeAuthorityNormalizer,
  probeGrpcStreamRouter,
  shouldNormalizeAuthority,
} from '../src/bypass-probes';
import { probeOneFlushAnswers } from '../src/one-flush-answer';

const PINNED = { grpcJs: '1.14.7', nodeMajor: 20 };

function grpcJsVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@grpc/grpc-js/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

describe('bypasses of library internals on the pinned versions', () => {
  it(`runs on the pinned versions (grpc-js ${PINNED.grpcJs}, Node ${PINNED.nodeMajor})`, () => {
    expect(grpcJsVersion(), 'grpc-js version (re-check the stream router, then update PINNED)').toBe(
      PINNED.grpcJs,
    );
    expect(Number(process.versions.node.split('.')[0]), `Node ${process.versions.node}`).toBe(
      PINNED.nodeMajor,
    );
  });

  it('the stream router engages: a routed call reaches the route, another reaches grpc-js', async () => {
    expect(await probeGrpcStreamRouter(), 'probeGrpcStreamRouter').toBe(true);
  });

  it('one-flush answers engage', async () => {
    expect(await probeOneFlushAnswers(), 'probeOneFlushAnswers').toBe(true);
  });

  it("the :authority normaliser is needed (Node refuses 'http://host:port') and works", async () => {
    const probe = await probeAuthorityNormalizer();
    expect(probe, 'probeAuthorityNormalizer').toEqual({ needed: true, works: true });
    expect(shouldNormalizeAuthority(probe)).toBe(true);
  });
});
