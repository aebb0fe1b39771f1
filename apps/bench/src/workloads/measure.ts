// Wraps a measured phase with CPU readings of the client and of the server processes.

import { cpuBetween, sampleClientCpu, sampleServerCpu, type CpuUse } from '../stats/cpu';

export interface Measured<T> {
  value: T;
  clientCpu: CpuUse;
  serverCpu?: CpuUse;
}

export async function measureCpu<T>(
  serverPids: readonly number[],
  phase: () => Promise<T>,
): Promise<Measured<T>> {
  const clientStart = sampleClientCpu();
  const serverStart = sampleServerCpu(serverPids);
  const value = await phase();
  const clientCpu = cpuBetween(clientStart, sampleClientCpu());
  const serverEnd = sampleServerCpu(serverPids);
  const serverCpu = serverStart && serverEnd ? cpuBetween(serverStart, serverEnd) : undefined;
  return { value, clientCpu, serverCpu };
}
