/**
 * Which child accepted a probe's connection. During a socket handoff the
 * old and the new child both accept on the one listening socket, so a probe
 * meant for the new child can be answered by the old one. The kernel's
 * socket table names the server side of the probe's connection by inode
 * once a process accepted it; the fd links of /proc/<pid>/fd name which
 * process holds that inode.
 */
import type { ConnectionEnds, Host } from '../host/host.ts';
import { parseTcpTable, processGroupOf, serverSide, socketInode } from './proc-net-tcp.ts';

/** The part of the Host this needs: /proc reads, and the clock to wait for the accept. */
export type AcceptedByHost = Pick<Host, 'clock'> & { fs: Pick<Host['fs'], 'readFile' | 'readSync' | 'readdir' | 'readlink'> };

/**
 * Who holds the server side: a process of the child's group, another
 * process, or nobody can tell (no /proc/net/tcp, as for Android apps since
 * Android 10).
 */
export type AcceptedBy = { kind: 'child' } | { kind: 'other'; reason: string } | { kind: 'unknown'; reason: string };

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/**
 * Waits up to `waitMs` until some process accepted the connection the
 * probe sees as `ends` (its row has an inode only from then on), then says
 * whether a process of group `pgid` (the child and whatever it forked)
 * holds it.
 */
export async function acceptedBy(host: AcceptedByHost, ends: ConnectionEnds, pgid: number, waitMs: number): Promise<AcceptedBy> {
  const deadline = host.clock.monotonic() + waitMs;
  let pause = 1;
  for (;;) {
    // Read asynchronously: the kernel builds these tables on each read, in
    // milliseconds on a machine with many connections (7.5 ms for 600 rows),
    // and the supervisor's event loop must not wait on it.
    const tables = await Promise.all(TABLES.map((path) => host.fs.readFile(path).catch(() => undefined)));
    if (tables.every((text) => text === undefined)) return { kind: 'unknown', reason: 'cannot read /proc/net/tcp to tell which process accepted the probe' };
    const row = serverSide(tables.flatMap((text) => (text === undefined ? [] : parseTcpTable(text))), ends);
    if (row === undefined) return { kind: 'other', reason: 'the probe connection was gone before it could be traced' };
    if (row.inode !== 0) return (await groupHolds(host, pgid, row.inode)) ? { kind: 'child' } : { kind: 'other', reason: `another process than the child (group ${pgid}) accepted the probe` };
    if (host.clock.monotonic() >= deadline) return { kind: 'other', reason: `no process accepted the probe within ${waitMs} ms` };
    await host.clock.sleep(Math.min(pause, Math.max(1, deadline - host.clock.monotonic())));
    pause = Math.min(50, pause * 2);
  }
}

/** Whether the leader `pgid`, or another process of its group, holds the socket `inode`. */
async function groupHolds(host: AcceptedByHost, pgid: number, inode: number): Promise<boolean> {
  // The leader is the service itself, usually the one that accepts: look there first.
  if (await holds(host, pgid, inode)) return true;
  for (const name of await host.fs.readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === pgid) continue;
    if (processGroupOf(host.fs.readSync(`/proc/${name}/stat`)) === pgid && (await holds(host, Number(name), inode))) return true;
  }
  return false;
}

async function holds(host: AcceptedByHost, pid: number, inode: number): Promise<boolean> {
  try {
    for (const fd of await host.fs.readdir(`/proc/${pid}/fd`)) {
      if (socketInode(await host.fs.readlink(`/proc/${pid}/fd/${fd}`)) === inode) return true;
    }
  } catch {
    // Gone meanwhile, or not ours to read (EACCES): it holds nothing we can count.
  }
  return false;
}
