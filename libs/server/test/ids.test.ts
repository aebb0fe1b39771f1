// Member, cluster and request IDs: the same IDs etcd derives from the same inputs (golden values recorded from
// a real etcd 3.4.23: `member list` over its JSON gateway), independent of URL/member order, and request IDs
// that never repeat.
import { describe, expect, it } from 'vitest';
import { computeClusterId, computeMemberId, formatId, RequestIdGenerator } from '../src/ids';

// etcd 3.4.23 started with `--name default --initial-advertise-peer-urls http://127.0.0.1:23801` and the default
// token answered member_id 13668033151171901709 and cluster_id 15118495548433857066.
const ETCD_SINGLE = {
  url: 'http://127.0.0.1:23801',
  token: 'etcd-cluster',
  member: 13668033151171901709n,
  cluster: 15118495548433857066n,
};
// Three etcd 3.4.23 members a, b, c on peer ports 23821..23823 with --initial-cluster-token cairn-test.
const ETCD_TRIO = {
  token: 'cairn-test',
  members: [
    { url: 'http://127.0.0.1:23821', id: 706604180071494585n },
    { url: 'http://127.0.0.1:23822', id: 8111850590249566286n },
    { url: 'http://127.0.0.1:23823', id: 1002858087550825992n },
  ],
  cluster: 15839421333359705163n,
};

describe('computeMemberId', () => {
  it('derives the member ID etcd derives from the peer URLs and cluster token', () => {
    expect(computeMemberId([ETCD_SINGLE.url], ETCD_SINGLE.token)).toBe(ETCD_SINGLE.member);
    for (const member of ETCD_TRIO.members) {
      expect(computeMemberId([member.url], ETCD_TRIO.token)).toBe(member.id);
    }
  });

  it('is deterministic and does not depend on the order of the peer URLs', () => {
    // etcd 3.4.23 with two peer URLs given in this (unsorted) order and token "tok": member 8590163704721983697.
    const urls = ['http://127.0.0.1:23812', 'http://127.0.0.1:23802'];
    const expected = 8590163704721983697n;
    expect(computeMemberId(urls, 'tok')).toBe(expected);
    expect(computeMemberId([...urls].reverse(), 'tok')).toBe(expected);
    expect(computeMemberId(urls, 'tok')).toBe(computeMemberId(urls, 'tok'));
  });

  it('does not reorder the caller’s array', () => {
    const urls = ['http://b:2380', 'http://a:2380'];
    computeMemberId(urls, 'tok');
    expect(urls).toEqual(['http://b:2380', 'http://a:2380']);
  });

  it('gives different IDs for a different token, different URLs or a re-add time', () => {
    const base = computeMemberId(['http://10.0.0.1:2380'], 'tok');
    expect(computeMemberId(['http://10.0.0.1:2380'], 'other')).not.toBe(base);
    expect(computeMemberId(['http://10.0.0.2:2380'], 'tok')).not.toBe(base);
    const readded = computeMemberId(['http://10.0.0.1:2380'], 'tok', 1_700_000_000_000);
    expect(readded).not.toBe(base);
    expect(computeMemberId(['http://10.0.0.1:2380'], 'tok', 1_700_000_000_000)).toBe(readded);
    expect(computeMemberId(['http://10.0.0.1:2380'], 'tok', 1_700_000_000_001)).not.toBe(readded);
  });

  it('fits in an unsigned 64-bit integer', () => {
    for (const member of ETCD_TRIO.members) {
      const id = computeMemberId([member.url], 'x');
      expect(id >= 0n && id < 2n ** 64n).toBe(true);
    }
  });
});

describe('computeClusterId', () => {
  it('derives the cluster ID etcd derives from its member IDs', () => {
    expect(computeClusterId([ETCD_SINGLE.member])).toBe(ETCD_SINGLE.cluster);
    expect(computeClusterId(ETCD_TRIO.members.map((m) => m.id))).toBe(ETCD_TRIO.cluster);
  });

  it('does not depend on the order of the members', () => {
    const ids = ETCD_TRIO.members.map((m) => m.id);
    const permutations = [
      [ids[0], ids[1], ids[2]],
      [ids[0], ids[2], ids[1]],
      [ids[1], ids[0], ids[2]],
      [ids[1], ids[2], ids[0]],
      [ids[2], ids[0], ids[1]],
      [ids[2], ids[1], ids[0]],
    ];
    for (const order of permutations) expect(computeClusterId(order)).toBe(ETCD_TRIO.cluster);
    expect(ids).toEqual(ETCD_TRIO.members.map((m) => m.id)); // the input is not sorted in place
  });

  it('sorts IDs as unsigned 64-bit numbers, not as strings', () => {
    // 9 < 10 numerically but "10" < "9" as text: both orders must give the same ID.
    expect(computeClusterId([9n, 10n])).toBe(computeClusterId([10n, 9n]));
    expect(computeClusterId([2n ** 64n - 1n, 1n])).toBe(computeClusterId([1n, 2n ** 64n - 1n]));
  });

  it('changes when membership changes', () => {
    const ids = ETCD_TRIO.members.map((m) => m.id);
    expect(computeClusterId(ids.slice(0, 2))).not.toBe(ETCD_TRIO.cluster);
    expect(computeClusterId([...ids, 42n])).not.toBe(ETCD_TRIO.cluster);
  });
});

describe('formatId', () => {
  it('prints IDs as lower-case hex without padding, like etcdctl', () => {
    expect(formatId(ETCD_SINGLE.member)).toBe('bdae9bbc11dd390d');
    expect(formatId(255n)).toBe('ff');
    expect(formatId(2n ** 64n - 1n)).toBe('ffffffffffffffff');
  });
});

describe('RequestIdGenerator', () => {
  it('hands out strictly increasing, unique IDs', () => {
    const gen = new RequestIdGenerator(ETCD_SINGLE.member, 1_700_000_000_000);
    const seen = new Set<bigint>();
    let previous = -1n;
    for (let i = 0; i < 10_000; i++) {
      const id = gen.nextId();
      expect(id > previous).toBe(true);
      seen.add(id);
      previous = id;
    }
    expect(seen.size).toBe(10_000);
  });

  it('puts the low 16 bits of the member ID in the top 2 bytes and the start time below them', () => {
    const member = 0xabcd_0000_0000_1234n;
    const now = 0x01_2345_6789;
    const id = new RequestIdGenerator(member, now).nextId();
    expect(id >> 48n).toBe(0x1234n);
    expect((id >> 8n) & 0xff_ffff_ffffn).toBe(BigInt(now));
    expect(id & 0xffn).toBe(1n);
  });

  it('does not collide across members or restarts', () => {
    const a = new RequestIdGenerator(1n, 1_700_000_000_000);
    const b = new RequestIdGenerator(2n, 1_700_000_000_000);
    const aLater = new RequestIdGenerator(1n, 1_700_000_000_001);
    const ids = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      ids.add(a.nextId());
      ids.add(b.nextId());
      ids.add(aLater.nextId());
    }
    expect(ids.size).toBe(600);
  });

  it('stays within 64 bits', () => {
    const gen = new RequestIdGenerator(0xffffn, 0xff_ffff_ffff);
    for (let i = 0; i < 300; i++) {
      const id = gen.nextId();
      expect(id >= 0n && id < 2n ** 64n).toBe(true);
    }
  });
});
