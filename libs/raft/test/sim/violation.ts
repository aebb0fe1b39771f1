// A broken invariant: which one, what it expected and what it saw. Thrown from the checks and caught
// by the simulation loop, which attaches the seed and the tick.

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly expected: string,
    readonly seen: string,
  ) {
    super(`${invariant}: expected ${expected}, saw ${seen}`);
    this.name = 'InvariantViolation';
  }
}

export function violated(invariant: string, expected: string, seen: string): never {
  throw new InvariantViolation(invariant, expected, seen);
}
