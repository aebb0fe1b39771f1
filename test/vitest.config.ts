import { cairnVitestConfig } from '../vitest.shared';

// Cross-process tests start real servers on loopback ports: run files one at a time.
export default cairnVitestConfig({ include: ['**/*.test.ts'], testTimeout: 60_000, serialFiles: true });
