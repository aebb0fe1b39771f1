// A linearizability checker for histories recorded by clients of a cluster: the Wing–Gong search with
// Lowe's memoization, as Porcupine implements it. A history is a list of operations, each with the time it
// was invoked and the time its answer came back; an operation whose outcome is unknown (the call failed or
// timed out, so it may or may not have taken effect) has `returnedAt: Infinity`. The history is linearizable
// if the operations can be put in one order that respects real time (an operation that returned before
// another was invoked comes first) and in which every output is what the sequential model gives.
// A model may split a history into independent parts (e.g. one per key); each is checked on its own.

export interface Operation<I, O> {
  /** Which client issued it (for messages only). */
  client: string;
  input: I;
  output: O;
  invokedAt: number;
  /** Infinity when the outcome is unknown. */
  returnedAt: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Whether `input` answered with `output` is legal in `state`, and the state after it. */
  step(state: S, input: I, output: O): { ok: boolean; next: S };
  /** State equality, for the memoization. */
  equal(a: S, b: S): boolean;
  /** Independent sub-histories (default: the whole history). */
  partition?(history: ReadonlyArray<Operation<I, O>>): Array<Array<Operation<I, O>>>;
  describe?(operation: Operation<I, O>): string;
}

export type Verdict = 'linearizable' | 'not-linearizable' | 'timed-out';

export interface CheckResult<I, O> {
  verdict: Verdict;
  /** For a violation: the part that could not be linearized and the longest prefix that could. */
  failedPart?: Array<Operation<I, O>>;
  longestLinearized?: Array<Operation<I, O>>;
  parts: number;
}

interface Entry {
  id: number;
  kind: 'call' | 'return';
  time: number;
  /** For a call entry, its return entry. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** A set of operation ids as a bit array, hashable for the cache. */
class Bits {
  constructor(readonly words: Uint32Array) {}
  static of(size: number): Bits {
    return new Bits(new Uint32Array(Math.ceil(size / 32)));
  }
  clone(): Bits {
    return new Bits(this.words.slice());
  }
  set(i: number): this {
    this.words[i >>> 5]! |= 1 << (i & 31);
    return this;
  }
  clear(i: number): this {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    return this;
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join(',');
  }
  ids(): number[] {
    const ids: number[] = [];
    this.words.forEach((word, w) => {
      for (let b = 0; b < 32; b++) if (word & (1 << b)) ids.push(w * 32 + b);
    });
    return ids;
  }
}

/** The call/return entries of a history as a doubly linked list in time order, behind a sentinel head. */
function entryList<I, O>(history: ReadonlyArray<Operation<I, O>>): Entry {
  const entries: Entry[] = [];
  history.forEach((op, id) => {
    const ret: Entry = {
      id,
      kind: 'return',
      time: op.returnedAt,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    entries.push({ id, kind: 'call', time: op.invokedAt, match: ret, prev: undefined, next: undefined }, ret);
  });
  // On equal times calls come first: the operations are then treated as concurrent (the weaker claim).
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: Entry = {
    id: -1,
    kind: 'call',
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Takes a call and its return out of the list. */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts them back (in the reverse order of lift). */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

function checkPart<S, I, O>(
  model: Model<S, I, O>,
  history: ReadonlyArray<Operation<I, O>>,
  deadline: number,
): { verdict: Verdict; longest: number[] } {
  const head = entryList(history);
  const cache = new Map<string, S[]>();
  const calls: Array<{ entry: Entry; state: S }> = [];
  let linearized = Bits.of(history.length);
  let longest: number[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps % 4096 === 0 && Date.now() > deadline) return { verdict: 'timed-out', longest };
    if (entry === undefined) throw new Error('linearizability: ran off the end of the entry list');
    if (entry.kind === 'call') {
      const op = history[entry.id]!;
      const { ok, next } = model.step(state, op.input, op.output);
      if (ok) {
        const candidate = linearized.clone().set(entry.id);
        const key = candidate.key();
        const seen = cache.get(key) ?? [];
        if (!seen.some((s) => model.equal(s, next))) {
          seen.push(next);
          cache.set(key, seen);
          calls.push({ entry, state });
          state = next;
          linearized = candidate;
          if (calls.length > longest.length) longest = calls.map((c) => c.entry.id);
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return whose call could not be linearized before it: backtrack.
      const top = calls.pop();
      if (top === undefined) return { verdict: 'not-linearizable', longest };
      state = top.state;
      linearized = linearized.clone().clear(top.entry.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { verdict: 'linearizable', longest };
}

/** Checks a history against a model; gives up ('timed-out') after `timeoutMs`. */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: ReadonlyArray<Operation<I, O>>,
  timeoutMs = 30_000,
): CheckResult<I, O> {
  for (const op of history) {
    if (!(op.returnedAt >= op.invokedAt)) {
      throw new Error(
        `operation of ${op.client} returns (${op.returnedAt}) before it is invoked (${op.invokedAt})`,
      );
    }
  }
  const parts = model.partition ? model.partition(history) : [[...history]];
  const deadline = Date.now() + timeoutMs;
  let timedOut = false;
  for (const part of parts) {
    const { verdict, longest } = checkPart(model, part, deadline);
    if (verdict === 'not-linearizable') {
      return {
        verdict,
        failedPart: part,
        longestLinearized: longest.map((id) => part[id]!),
        parts: parts.length,
      };
    }
    if (verdict === 'timed-out') timedOut = true;
  }
  return { verdict: timedOut ? 'timed-out' : 'linearizable', parts: parts.length };
}

// ---- A key-value register model: puts and gets on independent keys.

export type KvInput = { op: 'put'; key: string; value: string } | { op: 'get'; key: string };
/** A get's output: the value read (null: no such key). A put's output is ignored. */
export type KvOutput = { value: string | null } | { value?: undefined };

export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    if (input.op === 'put') return { ok: true, next: input.value };
    return { ok: output.value === state, next: state };
  },
  equal: (a, b) => a === b,
  partition(history) {
    const byKey = new Map<string, Array<Operation<KvInput, KvOutput>>>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
  describe(op) {
    const when = `[${op.invokedAt.toFixed(1)}, ${Number.isFinite(op.returnedAt) ? op.returnedAt.toFixed(1) : '?'}]`;
    return op.input.op === 'put'
      ? `${op.client} put ${op.input.key}=${op.input.value} ${when}`
      : `${op.client} get ${op.input.key} -> ${String(op.output.value)} ${when}`;
  },
};

/** A readable account of a failed check, for an assertion message. */
export function describeViolation<S, I, O>(
  model: Model<S, I, O>,
  result: CheckResult<I, O>,
  limit = 40,
): string {
  if (result.verdict !== 'not-linearizable') return result.verdict;
  const describe = model.describe ?? ((op: Operation<I, O>) => JSON.stringify(op));
  const part = [...(result.failedPart ?? [])].sort((a, b) => a.invokedAt - b.invokedAt);
  const linearized = new Set(result.longestLinearized ?? []);
  const lines = part.slice(0, limit).map((op) => `${linearized.has(op) ? '  ok ' : '  ?? '}${describe(op)}`);
  return [
    `not linearizable: no order fits these ${part.length} operations (ok = in the longest order found):`,
    ...lines,
    ...(part.length > limit ? [`  … ${part.length - limit} more`] : []),
  ].join('\n');
}
