import { cairnVitestConfig } from '../../vitest.shared';

export default cairnVitestConfig();
