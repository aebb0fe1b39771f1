// In-memory writers and a runCli wrapper for the unit tests.
import { runCli } from '../src/cli';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[], env: Record<string, string> = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  return { code, stdout, stderr };
}
