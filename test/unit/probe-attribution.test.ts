/**
 * Telling which child accepted a probe: the /proc/net/tcp parsing (rows
 * recorded on a real Linux x86-64 machine), and the trace through the fake
 * Host's /proc.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import type { HealthConfig } from '../../supervisor/config/schema.ts';
import type { ConnectionEnds } from '../../supervisor/host/host.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { acceptedBy } from '../../supervisor/service/accepted-by.ts';
import type { Attempt } from '../../supervisor/service/attempt.ts';
import { HealthWatch } from '../../supervisor/service/health-watch.ts';
import { addressBytes, parseTcpTable, processGroupOf, serverSide, socketInode } from '../../supervisor/service/proc-net-tcp.ts';
import { probeOnce } from '../../supervisor/service/readiness.ts';
import { createFakeHost, type FakeHost } from '../support/fake-host.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const HEADER6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

// 127.0.0.1:43425 listening; the client 127.0.0.1:36206 connected; the server accepted (inode 3224655).
const V4 = [
  HEADER,
  '   1: 0100007F:A9A1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3224653 1 00000000a44ade5f 100 0 0 10 0',
  '   4: 0100007F:A9A1 0100007F:8D6E 01 00000000:00000000 00:00000000 00000000     0        0 3224655 1 00000000eb5561bd 21 0 0 10 -1',
  '  48: 0100007F:8D6E 0100007F:A9A1 01 00000000:00000000 00:00000000 00000000     0        0 3224654 2 000000001fb47ec1 21 0 0 10 -1',
].join('\n');
const V4_ENDS: ConnectionEnds = { localAddress: '127.0.0.1', localPort: 36206, remoteAddress: '127.0.0.1', remotePort: 43425 };

// A dual-stack [::]:42527 listener, the client on 127.0.0.1: the server side is a v4-mapped tcp6 row.
const DUAL_TCP = [HEADER, '  12: 0100007F:B638 0100007F:A61F 01 00000000:00000000 00:00000000 00000000     0        0 3224660 2 00000000eb5561bd 21 0 0 10 -1'].join('\n');
const DUAL_TCP6 = [
  HEADER6,
  '   0: 00000000000000000000000000000000:A61F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3224659 1 00000000f2cad5c8 100 0 0 10 0',
  '   1: 0000000000000000FFFF00000100007F:A61F 0000000000000000FFFF00000100007F:B638 01 00000000:00000000 00:00000000 00000000     0        0 3224661 1 00000000997937ff 21 0 0 10 -1',
].join('\n');
const DUAL_ENDS: ConnectionEnds = { localAddress: '127.0.0.1', localPort: 46648, remoteAddress: '127.0.0.1', remotePort: 42527 };

// [::1]:46657, the client [::1]:33398.
const V6 = [
  HEADER6,
  '   0: 00000000000000000000000001000000:B641 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3224662 1 00000000997937ff 100 0 0 10 0',
  '   1: 00000000000000000000000001000000:8276 00000000000000000000000001000000:B641 01 00000000:00000000 00:00000000 00000000     0        0 3224663 2 00000000b6292eca 20 0 0 10 -1',
  '   2: 00000000000000000000000001000000:B641 00000000000000000000000001000000:8276 01 00000000:00000000 00:00000000 00000000     0        0 3224664 1 00000000b529e016 20 0 0 10 -1',
].join('\n');
const V6_ENDS: ConnectionEnds = { localAddress: '::1', localPort: 33398, remoteAddress: '::1', remotePort: 46657 };

// 127.0.0.1:34935 listening, nobody calls accept(): the client 127.0.0.1:47962 waits in the queue, inode 0.
const QUEUED = [
  HEADER,
  '   1: 0100007F:8877 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 3224684 2 00000000eb5561bd 100 0 0 10 0',
  '   7: 0100007F:BB5A 0100007F:8877 01 00000000:00000000 00:00000000 00000000     0        0 3224685 2 00000000a44ade5f 20 0 0 10 -1',
  '  39: 0100007F:8877 0100007F:BB5A 01 00000000:00000000 00:00000000 00000000     0        0 0 1 000000001fb47ec1 20 0 0 10 -1',
].join('\n');
const QUEUED_ENDS: ConnectionEnds = { localAddress: '127.0.0.1', localPort: 47962, remoteAddress: '127.0.0.1', remotePort: 34935 };

describe('the /proc/net/tcp parsing', () => {
  it('reads every row, skipping the header and lines that do not parse', () => {
    const rows = parseTcpTable(`${V4}\ngarbage line\n   9: zz:00 00:00 01 0 0 0 0 0 0\n`);
    expect(rows.map((r) => r.inode)).toEqual([3224653, 3224655, 3224654]);
    expect(rows[1]).toEqual({ local: { words: [0x0100007f], port: 43425 }, remote: { words: [0x0100007f], port: 36206 }, inode: 3224655 });
  });

  it('finds the server side of a v4 connection, not the client side nor the listener', () => {
    expect(serverSide(parseTcpTable(V4), V4_ENDS)?.inode).toBe(3224655);
  });

  it('finds it as a v4-mapped row of tcp6 behind a dual-stack listener', () => {
    const rows = [...parseTcpTable(DUAL_TCP), ...parseTcpTable(DUAL_TCP6)];
    expect(serverSide(rows, DUAL_ENDS)?.inode).toBe(3224661);
  });

  it('finds it for an IPv6 connection', () => {
    expect(serverSide(parseTcpTable(V6), V6_ENDS)?.inode).toBe(3224664);
  });

  it('sees inode 0 while the connection waits in the accept queue', () => {
    expect(serverSide(parseTcpTable(QUEUED), QUEUED_ENDS)?.inode).toBe(0);
  });

  it('matches addresses, not only ports: the same ports from another client are another connection', () => {
    expect(serverSide(parseTcpTable(V4), { ...V4_ENDS, localAddress: '10.0.0.7' })).toBeUndefined();
    expect(serverSide(parseTcpTable(V4), { ...V4_ENDS, localPort: 36207 })).toBeUndefined();
  });

  it('decodes the addresses of both byte orders', () => {
    // A big-endian machine prints 127.0.0.1 as 7F000001.
    const bigEndian = [HEADER, '   4: 7F000001:A9A1 7F000001:8D6E 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0 21 0 0 10 -1'].join('\n');
    expect(serverSide(parseTcpTable(bigEndian), V4_ENDS)?.inode).toBe(77);
  });

  it('turns address text into 16 bytes, v4 as v4-mapped', () => {
    expect(addressBytes('127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]);
    expect(addressBytes('::ffff:127.0.0.1')).toEqual(addressBytes('127.0.0.1'));
    expect(addressBytes('::1')).toEqual([...Array<number>(15).fill(0), 1]);
    expect(addressBytes('fe80::1%eth0')).toEqual([0xfe, 0x80, ...Array<number>(13).fill(0), 1]);
    expect(addressBytes('2001:db8:0:0:0:0:0:2')).toEqual(addressBytes('2001:db8::2'));
    for (const bad of ['', 'localhost', '256.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '::12345']) expect(addressBytes(bad)).toBeUndefined();
  });

  it('reads socket inodes from fd links and the process group from stat', () => {
    expect(socketInode('socket:[3224655]')).toBe(3224655);
    expect(socketInode('pipe:[12]')).toBeUndefined();
    expect(socketInode(undefined)).toBeUndefined();
    // The command may hold spaces and a ')'.
    expect(processGroupOf('4242 (my (odd) cmd) S 4200 4100 4100 0 -1 4194560')).toBe(4100);
    expect(processGroupOf(undefined)).toBeUndefined();
  });
});

/** A fake /proc: the socket table, and the fd links of each process with its group. */
function fakeProc(host: FakeHost, table: string | undefined, processes: Array<{ pid: number; pgid: number; sockets: number[] }>): void {
  if (table !== undefined) host.files.set('/proc/net/tcp', { data: table, mode: 0o444 });
  for (const p of processes) {
    host.files.set(`/proc/${p.pid}/stat`, { data: `${p.pid} (node) S 1 ${p.pgid} ${p.pgid} 0 -1 0`, mode: 0o444 });
    host.links.set(`/proc/${p.pid}/fd/0`, '/dev/null');
    p.sockets.forEach((inode, i) => host.links.set(`/proc/${p.pid}/fd/${i + 3}`, `socket:[${inode}]`));
  }
}

describe('tracing who accepted', () => {
  it('names the child when its leader holds the socket', async () => {
    const host = createFakeHost();
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [3224655] }, { pid: 600, pgid: 600, sockets: [1] }]);
    expect(await acceptedBy(host, V4_ENDS, 500, 1000)).toEqual({ kind: 'child' });
  });

  it('names the child when a process it forked (same group) holds it', async () => {
    const host = createFakeHost();
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [7] }, { pid: 501, pgid: 500, sockets: [3224655] }]);
    expect(await acceptedBy(host, V4_ENDS, 500, 1000)).toEqual({ kind: 'child' });
  });

  it('says another process accepted it when the old child holds it', async () => {
    const host = createFakeHost();
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [7] }, { pid: 400, pgid: 400, sockets: [3224655] }]);
    expect(await acceptedBy(host, V4_ENDS, 500, 1000)).toMatchObject({ kind: 'other' });
  });

  it('waits for the accept, then looks', async () => {
    const host = createFakeHost();
    fakeProc(host, QUEUED, [{ pid: 500, pgid: 500, sockets: [99] }]);
    const traced = acceptedBy(host, QUEUED_ENDS, 500, 1000);
    await host.advance(10);
    host.files.set('/proc/net/tcp', { data: QUEUED.replace(' 0 1 000000001fb47ec1', ' 99 1 000000001fb47ec1'), mode: 0o444 });
    await host.advance(100);
    expect(await traced).toEqual({ kind: 'child' });
  });

  it('gives up when nobody accepts within the wait', async () => {
    const host = createFakeHost();
    fakeProc(host, QUEUED, [{ pid: 500, pgid: 500, sockets: [] }]);
    const traced = acceptedBy(host, QUEUED_ENDS, 500, 200);
    for (let i = 0; i < 10; i++) await host.advance(50);
    const result = await traced;
    expect(result.kind).toBe('other');
    expect(result.kind === 'other' ? result.reason : '').toContain('within 200 ms');
  });

  it('cannot tell without /proc/net/tcp (Android apps since 10)', async () => {
    const host = createFakeHost();
    fakeProc(host, undefined, [{ pid: 500, pgid: 500, sockets: [3224655] }]);
    expect(await acceptedBy(host, V4_ENDS, 500, 1000)).toMatchObject({ kind: 'unknown' });
  });
});

describe('a probe limited to one child', () => {
  const health: HealthConfig = { url: 'http://127.0.0.1:43425/health', intervalMs: 5000, timeoutMs: 2000, failureThreshold: 3, readyTimeoutMs: 30_000, notify: false };

  it("counts the child's own answer, good or bad", async () => {
    const host = createFakeHost();
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [3224655] }]);
    host.httpServer = { ends: V4_ENDS, status: 200 };
    expect(await probeOnce(host, health, 500)).toEqual({ ok: true });
    host.httpServer = { ends: V4_ENDS, status: 500 };
    expect(await probeOnce(host, health, 500)).toEqual({ ok: false, reason: 'HTTP 500 from http://127.0.0.1:43425/health' });
  });

  it("does not count another process's 200", async () => {
    const host = createFakeHost();
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [] }, { pid: 400, pgid: 400, sockets: [3224655] }]);
    host.httpServer = { ends: V4_ENDS, status: 200 };
    expect(await probeOnce(host, health, 500)).toMatchObject({ ok: false, uncounted: 'elsewhere' });
    // Unlimited (no other child holds the socket), the same answer counts, as before.
    expect(await probeOnce(host, health)).toEqual({ ok: true });
  });

  it('does not count an answer nobody can trace', async () => {
    const host = createFakeHost();
    host.httpServer = { ends: V4_ENDS, status: 200 };
    expect(await probeOnce(host, health, 500)).toMatchObject({ ok: false, uncounted: 'untraceable' });
  });
});

describe('the health loop while two children share the socket', () => {
  function watchSetup(): { host: FakeHost; watch: HealthWatch; attempt: Attempt; log: ReturnType<typeof memorySink> } {
    const host = createFakeHost();
    const config = parseConfig({ service: { command: ['app'], listen: [{ port: 43425 }], health: { url: 'http://127.0.0.1:43425/health', intervalMs: 100, failureThreshold: 2 } } }, '/srv', 'test');
    const log = memorySink();
    const logger = createLogger({ level: 'debug', sink: log, pid: host.pid });
    const watch = new HealthWatch({ host, config: config.service, logger, stdout: memorySink(), stderr: memorySink() });
    const attempt: Attempt = { pid: 500, exited: new Promise(() => undefined), spawnedAt: 0, abort: new AbortController(), stopping: false, output: Promise.resolve() };
    return { host, watch, attempt, log };
  }

  it("gives no verdict on the old child's answers, then judges the child's own once the socket is its alone", async () => {
    const { host, watch, attempt, log } = watchSetup();
    // The old child (group 400) accepts and answers 500.
    fakeProc(host, V4, [{ pid: 500, pgid: 500, sockets: [] }, { pid: 400, pgid: 400, sockets: [3224655] }]);
    host.httpServer = { ends: V4_ENDS, status: 500 };
    const unshare = watch.share();
    const verdict = watch.watch(attempt, () => true);
    for (let i = 0; i < 5; i++) await host.advance(100);
    expect(watch.failures).toBe(0);
    expect(log.text()).toContain('health probe not counted');
    unshare();
    for (let i = 0; i < 2; i++) await host.advance(100);
    await expect(verdict).resolves.toContain('2 failed checks in a row (HTTP 500');
  });

  it('warns once when nobody can tell who answered', async () => {
    const { host, watch, attempt, log } = watchSetup();
    host.httpServer = { ends: V4_ENDS, status: 200 };
    watch.share();
    void watch.watch(attempt, () => true);
    for (let i = 0; i < 4; i++) await host.advance(100);
    attempt.abort.abort();
    expect(log.text().split('cannot tell which child answered')).toHaveLength(2);
    expect(watch.failures).toBe(0);
  });
});
