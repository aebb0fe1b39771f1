// Preloaded into a member by alloc-per-put.sh (node -r): V8's sampling heap profiler, counting objects the GC
// already collected too (so the profile is what a put allocates, not what it keeps). SIGUSR1 starts it, SIGUSR2
// stops it and writes the profile to $HEAP_OUT.
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');

const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
process.on('SIGUSR1', () => {
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
});
process.on('SIGUSR2', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) process.stderr.write(`heap sampling: ${err.message}\n`);
    else fs.writeFileSync(process.env.HEAP_OUT, JSON.stringify(result.profile));
  });
});
