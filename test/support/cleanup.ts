// What every suite registers in afterAll: stop every process it started and delete its temp dirs.
import { terminateAll } from './processes';
import { removeTempDirs } from './temp-dirs';

export async function cleanupAll(graceMs = 3000): Promise<void> {
  await terminateAll(graceMs);
  removeTempDirs();
}
