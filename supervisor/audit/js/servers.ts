/**
 * Recognising servers in JS/TS: what an expression creates, and whether a
 * name that is closed or listened on holds a server.
 */
import type { Node } from '@babel/types';
import type { ImportMap } from './imports.ts';
import { asCall, dottedName, nameOf, rootName, unwrap } from './syntax.ts';

/**
 * What a value is, as far as stopping goes: `http` is a Node net/http server
 * (close() waits for its connections), `ws` a WebSocketServer, `fastify` an
 * app whose close() ends its own connections, `app` an express/koa/hono app
 * that is not a server until it listens, and `runtime` Bun.serve/Deno.serve.
 */
export type ServerKind = 'http' | 'ws' | 'fastify' | 'app' | 'runtime';

/** A created value and how to name it in a message. */
export interface Creation {
  kind: ServerKind;
  what: string;
}

const HTTP_MODULES = new Set(['http', 'https', 'http2', 'net', 'tls']);

function created(kind: ServerKind, callee: Node, isNew: boolean): Creation {
  return { kind, what: `${isNew ? 'new ' : ''}${dottedName(callee) ?? 'server'}()` };
}

function fromNew(callee: Node, imports: ImportMap): Creation | undefined {
  const name = nameOf(callee);
  const root = rootName(callee);
  const module = root === undefined ? undefined : imports.get(root);
  if (name === 'WebSocketServer' || (name === 'Server' && (module === 'ws' || root === 'WebSocket'))) return created('ws', callee, true);
  if (name === 'Server' && module !== undefined && HTTP_MODULES.has(module)) return created('http', callee, true);
  if (name === 'Koa' || name === 'Hono' || module === 'koa') return created('app', callee, true);
  return undefined;
}

function fromCall(callee: Node, imports: ImportMap): Creation | undefined {
  const name = nameOf(callee);
  const dotted = dottedName(callee);
  if (name === 'createServer' || name === 'createSecureServer') return created('http', callee, false);
  if (dotted === 'Bun.serve' || dotted === 'Deno.serve') return created('runtime', callee, false);
  if (callee.type !== 'Identifier') return undefined;
  // A bare call is only trusted by its import, or by the conventional name
  // when the file does not say where it came from (a global or a re-export).
  const module = imports.get(callee.name);
  if (name === 'serve' && module === '@hono/node-server') return created('http', callee, false);
  if (module === 'express' || (module === undefined && name === 'express')) return created('app', callee, false);
  if (module === 'fastify' || (module === undefined && (name === 'fastify' || name === 'Fastify'))) return created('fastify', callee, false);
  return undefined;
}

/** What `node` creates, if it is a server or app creation. */
export function creationOf(node: Node, imports: ImportMap): Creation | undefined {
  const bare = unwrap(node);
  if (bare.type === 'NewExpression') return fromNew(bare.callee, imports);
  const call = asCall(bare);
  return call === undefined ? undefined : fromCall(unwrap(call.callee), imports);
}

// Names people give servers when the creation is out of sight (another
// module, a parameter, a class field set elsewhere).
const WS_NAME = /^wss($|[A-Z_])|ws_?server|websocket_?server/i;
const SERVER_NAME = /server|srv/i;

/** The kind a name holds: what the service binds to it, or failing that what its name says. */
export function kindOfName(name: string | undefined, bound: ReadonlyMap<string, ReadonlySet<ServerKind>>): ServerKind | undefined {
  if (name === undefined) return undefined;
  const kinds = bound.get(name);
  if (kinds !== undefined) {
    if (kinds.has('ws')) return 'ws';
    if (kinds.has('http')) return 'http';
    return kinds.values().next().value;
  }
  if (WS_NAME.test(name)) return 'ws';
  if (SERVER_NAME.test(name)) return 'http';
  return name === 'app' || name === 'api' ? 'app' : undefined;
}
