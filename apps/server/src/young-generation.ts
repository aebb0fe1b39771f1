// V8 grows its young generation (two semi-spaces, from 1 MiB up to 16 MiB each) when many objects survive
// a scavenge, and never shrinks it while the process is idle. Startup (module loading, Nest's scanning,
// the OpenAPI document) is such a burst: it left an empty member with 31 MiB of young generation holding
// 0.5 MiB (145.7 → 113 MiB idle RSS, docs/benchmarks.md "Memory, round 3"). So the member keeps the young
// generation at its initial size while it starts, then lets V8 grow it as usual for the load it serves.
import { setFlagsFromString } from 'node:v8';

/** V8's default --semi-space-growth-factor (Node 20). */
const DEFAULT_GROWTH_FACTOR = 2;

/** No young-generation growth until the returned function is called (unless the operator sized it). */
function holdYoungGeneration(): () => void {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''];
  const operatorChose = flags.some((flag) => /semi[-_]space/.test(flag));
  if (operatorChose) return () => undefined;
  setFlagsFromString('--semi-space-growth-factor=1');
  return () => setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
}

/** Imported first by main.ts, so the hold covers module loading; main() calls it once the member runs. */
export const releaseYoungGeneration = holdYoungGeneration();
