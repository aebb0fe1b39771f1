import { cairnVitestConfig } from '../vitest.shared';

// Unit tests of the console's pure helpers (diff, validation, highlighting); the pages are tested in a real
// browser by test/browser.
export default cairnVitestConfig({ include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] });
