// Which process dialled a loopback TCP connection we accepted. Members of a cluster all dial from 127.0.0.1,
// so the address says nothing; the kernel does: /proc/net/tcp{,6} maps the dialler's socket (its local end is
// our remote end) to an inode, and /proc/<pid>/fd shows which process holds that inode. Linux only.
import { readFile, readdir, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** /proc/net/tcp spells an IPv4 address as its 32-bit value in host (little-endian) order, in hex. */
function procIpv4(address: string): string | undefined {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const parts = v4.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts
    .reverse()
    .map((p) => p.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

function procEndpoints(address: string, port: number): string[] {
  const v4 = procIpv4(address);
  if (v4 === undefined) return [];
  const hexPort = port.toString(16).padStart(4, '0').toUpperCase();
  // The same endpoint as /proc/net/tcp6 shows a v4-mapped socket.
  return [`${v4}:${hexPort}`, `0000000000000000FFFF0000${v4}:${hexPort}`];
}

/** Inode of the socket whose local end is `local` and remote end is `remote`, or undefined. */
async function socketInode(
  local: { address: string; port: number },
  remote: { address: string; port: number },
): Promise<string | undefined> {
  const locals = new Set(procEndpoints(local.address, local.port));
  const remotes = new Set(procEndpoints(remote.address, remote.port));
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      if (fields.length < 10) continue;
      if (locals.has(fields[1]!) && remotes.has(fields[2]!) && fields[9] !== '0') return fields[9];
    }
  }
  return undefined;
}

async function holdsInode(pid: number, inode: string): Promise<boolean> {
  const wanted = `socket:[${inode}]`;
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false; // gone
  }
  for (const fd of fds) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === wanted) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

/**
 * The PID among `candidates` that holds the other end of `socket` (a connection accepted on loopback), or
 * undefined when none does (not one of them, or it closed already).
 */
export async function socketOwner(
  socket: Socket,
  candidates: readonly number[],
): Promise<number | undefined> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  if (localAddress === undefined || localPort === undefined) return undefined;
  const inode = await socketInode(
    { address: remoteAddress, port: remotePort },
    { address: localAddress, port: localPort },
  );
  if (inode === undefined) return undefined;
  for (const pid of candidates) {
    if (await holdsInode(pid, inode)) return pid;
  }
  return undefined;
}
