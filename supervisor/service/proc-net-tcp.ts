/**
 * Reading Linux's socket tables (/proc/net/tcp, /proc/net/tcp6) and fd
 * links, as pure functions over their text: which inode is the server side
 * of a given TCP connection, and which process holds it. Used to tell which
 * child accepted a probe while two children share one listening socket.
 */

import type { ConnectionEnds } from '../host/host.ts';

/** One row of /proc/net/tcp or tcp6: addresses as 32-bit words in the kernel's hex, ports, and the socket's inode (0 while nobody accepted it). */
export interface TcpRow {
  local: { words: number[]; port: number };
  remote: { words: number[]; port: number };
  inode: number;
}

/** The rows of a /proc/net/tcp or tcp6 text; lines that do not parse are skipped. */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = parseEndpoint(fields[1]!);
    const remote = parseEndpoint(fields[2]!);
    const inode = Number(fields[9]);
    if (local === undefined || remote === undefined || !Number.isSafeInteger(inode)) continue;
    rows.push({ local, remote, inode });
  }
  return rows;
}

function parseEndpoint(field: string): TcpRow['local'] | undefined {
  const match = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(field);
  if (match === null) return undefined;
  const hex = match[1]!;
  const words: number[] = [];
  for (let i = 0; i < hex.length; i += 8) words.push(Number.parseInt(hex.slice(i, i + 8), 16));
  return { words, port: Number.parseInt(match[2]!, 16) };
}

/**
 * The 16 bytes of an IPv4 or IPv6 address in text (IPv4 as ::ffff:a.b.c.d,
 * so a dual-stack listener's v4-mapped rows compare equal), or undefined.
 */
export function addressBytes(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4 !== null) {
    const octets = v4.slice(1).map(Number);
    return octets.some((o) => o > 255) ? undefined : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...octets];
  }
  if (!address.includes(':')) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes its two groups.
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  let groups = address;
  if (tail !== null) {
    const b = addressBytes(tail[2]!)?.slice(12);
    if (b === undefined) return undefined;
    groups = `${tail[1]!}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = groups.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => (/^[0-9A-Fa-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 2 ? missing < 1 : missing !== 0) || [...head, ...rest].some(Number.isNaN)) return undefined;
  return [...head, ...Array<number>(missing).fill(0), ...rest].flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The kernel prints each 32-bit word of an address in host byte order:
 * reversed on little-endian machines (every Android and x86 one), as is on
 * big-endian ones. Both readings are tried; a row that matches under the
 * other one would need an address that is its own byte-reversal.
 */
function rowBytes(words: readonly number[], littleEndian: boolean): number[] {
  const ordered = words.flatMap((w) => {
    const big = [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff];
    return littleEndian ? big.reverse() : big;
  });
  return ordered.length === 4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ordered] : ordered;
}

function sameAddress(words: readonly number[], address: readonly number[]): boolean {
  return [true, false].some((le) => rowBytes(words, le).every((b, i) => b === address[i]));
}

/**
 * The server side of the connection whose client sees `ends`: the row whose
 * local end is the client's remote one and whose remote end is the client's
 * local one. Undefined when no row matches (the server closed it already).
 */
export function serverSide(rows: readonly TcpRow[], ends: ConnectionEnds): TcpRow | undefined {
  const server = addressBytes(ends.remoteAddress);
  const client = addressBytes(ends.localAddress);
  if (server === undefined || client === undefined) return undefined;
  return rows.find((row) => row.local.port === ends.remotePort && row.remote.port === ends.localPort && sameAddress(row.local.words, server) && sameAddress(row.remote.words, client));
}

/** The inode of a `socket:[inode]` fd link, or undefined for any other link. */
export function socketInode(link: string | undefined): number | undefined {
  const match = /^socket:\[(\d+)\]$/.exec(link ?? '');
  return match === null ? undefined : Number(match[1]);
}

/** The process group (field 5) of a /proc/<pid>/stat text; the command (field 2) may hold spaces and parentheses. */
export function processGroupOf(stat: string | undefined): number | undefined {
  if (stat === undefined) return undefined;
  const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  return Number.isSafeInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}
