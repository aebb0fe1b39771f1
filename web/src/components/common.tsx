import { useEffect, useRef, type ReactNode } from 'react';
import { ApiError } from '../api';
import { diffLines } from './diff';
import { highlight, type Syntax } from './highlight';

export function ErrorBanner({ error, context }: { error: unknown; context?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    error instanceof ApiError && error.unreachable
      ? ' — is the server running? The page retries by itself.'
      : error instanceof ApiError && /leader/i.test(message)
        ? ' — the cluster has no leader right now; writes wait for an election.'
        : '';
  return (
    <div className="error" role="alert">
      {context ? `${context}: ` : ''}
      {message}
      {hint}
    </div>
  );
}

export function Badge({ tone, children }: { tone?: 'ok' | 'warn' | 'bad' | 'leader'; children: ReactNode }) {
  return <span className={`badge ${tone ?? ''}`}>{children}</span>;
}

export function DiffView({ before, after, label }: { before: string; after: string; label?: string }) {
  const lines = diffLines(before, after);
  const changed = lines.some((l) => l.op !== 'same');
  return (
    <pre className="diff" aria-label={label ?? 'diff'} data-testid="diff">
      {!changed && <div className="muted">(no differences)</div>}
      {lines.map((line, i) => (
        <div key={i} className={line.op === 'add' ? 'add' : line.op === 'del' ? 'del' : undefined}>
          <span className="sign">{line.op === 'add' ? '+' : line.op === 'del' ? '-' : ' '}</span>
          {line.text}
        </div>
      ))}
    </pre>
  );
}

/** Highlighted, read-only code. */
export function Code({ text, syntax, label }: { text: string; syntax: Syntax; label?: string }) {
  return (
    <pre className="value" aria-label={label}>
      {highlight(text, syntax)}
    </pre>
  );
}

/** A modal confirmation (native <dialog>: focus is trapped, Escape cancels). */
export function Confirm({
  open,
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onCancel={onCancel} aria-labelledby="confirm-title">
      <h3 id="confirm-title">{title}</h3>
      <div>{children}</div>
      <div className="toolbar" style={{ marginTop: 14, justifyContent: 'flex-end' }}>
        <button onClick={onCancel}>Cancel</button>
        <button className={danger ? 'danger' : 'primary'} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = bytes.subarray(off, off + 16);
    const hex = Array.from(chunk, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(chunk, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
