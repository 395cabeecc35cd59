/**
 * One service's JS/TS facts, joined across its files: a name bound to a
 * server in one module and closed in another is the same server here, and a
 * handler function is found wherever it is defined.
 */
import type { FunctionEntry, JsFileFacts, ServerSite, SignalSite } from './collect.ts';
import { kindOfName, type ServerKind } from './servers.ts';

/** The joined facts of every JS/TS file of a service. */
export interface JsService {
  servers: ServerSite[];
  signals: SignalSite[];
  functions: ReadonlyMap<string, FunctionEntry[]>;
  releasedTimers: ReadonlySet<string>;
  tracksConnections: boolean;
  /** What a name holds, from the service's bindings or failing that its name. */
  kindOf(name: string | undefined): ServerKind | undefined;
}

// What a `.listen()` receiver must be for the call to start a server.
const LISTENING_KINDS = new Set<ServerKind | undefined>(['http', 'ws', 'app', 'fastify']);

/** Joins the facts of a service's files, keeping only `.listen()` calls on server-like names. */
export function joinFacts(files: readonly JsFileFacts[]): JsService {
  const functions = new Map<string, FunctionEntry[]>();
  const bindings = new Map<string, Set<ServerKind>>();
  for (const file of files) {
    for (const [name, entry] of file.functions) functions.set(name, [...(functions.get(name) ?? []), entry]);
    for (const [name, kind] of file.bindings) bindings.set(name, (bindings.get(name) ?? new Set()).add(kind));
  }
  const kindOf = (name: string | undefined): ServerKind | undefined => kindOfName(name, bindings);
  // A registration whose signal is a variable counts as SIGTERM when the
  // service spells SIGTERM out somewhere (a STOP_SIGNALS list handed to a
  // helper): enough to silence no-sigterm-handler, while the rules leave the
  // guessed handler itself alone.
  const guess = files.some((file) => file.mentionsSigterm) ? ['SIGTERM'] : [];
  return {
    servers: files.flatMap((file) => file.servers).filter((site) => site.listener === undefined || LISTENING_KINDS.has(kindOf(site.listener))),
    signals: files.flatMap((file) => file.signals).map((site) => (site.guessed ? { ...site, signals: guess } : site)),
    functions,
    releasedTimers: new Set(files.flatMap((file) => file.releasedTimers)),
    tracksConnections: files.some((file) => file.tracksConnections),
    kindOf,
  };
}
