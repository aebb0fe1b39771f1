// `cairnctl config edit`: the content goes to a temp file, $EDITOR (default vi) edits it in the terminal, the
// CLI reads it back. The file keeps the item's name as its suffix so editors pick the right syntax.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** `$VISUAL`, then `$EDITOR`, then vi (as git and kubectl). */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
}

/** Opens `content` in the editor and resolves with the edited text. */
export async function editText(
  content: string,
  fileName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cairnctl-edit-'));
  const file = join(dir, fileName.replace(/[^A-Za-z0-9._-]/g, '_') || 'item');
  try {
    writeFileSync(file, content, { mode: 0o600 });
    const editor = editorCommand(env);
    // Through the shell, so EDITOR may carry arguments ("code --wait", "vim -u NONE").
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(`${editor} "$CAIRNCTL_EDIT_FILE"`, {
        shell: true,
        stdio: 'inherit',
        env: { ...env, CAIRNCTL_EDIT_FILE: file },
      });
      child.on('error', reject);
      child.on('exit', (status, signal) => resolve(signal ? 128 : (status ?? 1)));
    });
    if (code !== 0) throw new Error(`the editor (${editor}) exited with status ${code}; nothing was changed`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asks a yes/no question on the terminal; true only for y/yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${question} [y/N] `, resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
