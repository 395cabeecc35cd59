/**
 * The shutdown path of one signal handler: the handler, every function it
 * calls by name anywhere in the service, and the callbacks inside them.
 * Walking it tells whether and when the process exits, through which timers,
 * and which servers and connections it closes on the way.
 */
import type { Node } from '@babel/types';
import type { FunctionEntry, SignalSite } from './collect.ts';
import type { JsService } from './service.ts';
import { asCall, asMember, dottedName, isFunction, isProcess, lineOf, methodCall, nameOf, unwrap } from './syntax.ts';
import { visit } from './visit.ts';

/** A `setTimeout` on the shutdown path. */
export interface TimerFact {
  file: string;
  line: number;
  /** Its callback ends the process: it is a hard-exit fallback. */
  exits: boolean;
  /** It is unref'd or cleared, so it cannot hold the process up by itself. */
  released: boolean;
}

/** A `close()` of a server on the shutdown path. */
export interface CloseFact {
  file: string;
  line: number;
  kind: 'http' | 'ws';
}

/** What the shutdown path of one handler does. */
export interface Region {
  /** False when the handler could not be followed to its code; the rules then say nothing of it. */
  resolved: boolean;
  /** process.exit runs at once, on every path, when the signal arrives. */
  exitsAtOnce: boolean;
  /** process.exit runs later outside any timer: in a close callback, or after an await. */
  exitsWhenDrained: boolean;
  timers: TimerFact[];
  closes: CloseFact[];
  /** Open connections are ended: closeIdleConnections(), socket.destroy(), client.terminate()… */
  endsConnections: boolean;
  /** The clients of a WebSocketServer are ended. */
  endsWsClients: boolean;
  /** closeAllConnections() calls that run as the signal arrives, not after a grace timer. */
  closesAllAtOnce: Array<{ file: string; line: number }>;
}

interface Context {
  file: string;
  /** Runs synchronously when the signal arrives: not in a callback, not in an async function. */
  sync: boolean;
  /** …and on every path: not under an if, a loop, a try or a short-circuit. */
  always: boolean;
  /** The timer whose callback this is. */
  timer: TimerFact | undefined;
  /** Inside an iteration over a WebSocketServer's `clients`. */
  clients: boolean;
}

const EXIT_METHODS = new Set(['exit', 'abort', 'reallyExit']);
const CONNECTION_ENDERS = new Set(['close', 'destroy', 'destroySoon', 'resetAndDestroy', 'end', 'terminate']);
const CONNECTION_NAME = /^((ws)?client|conn(ection)?|peer|ws|c|s)$|sock(et)?$/i;
// Nodes a statement can sit under and still run on every path.
const ALWAYS_PARENTS = new Set(['BlockStatement', 'ExpressionStatement', 'ReturnStatement', 'AwaitExpression', 'SequenceExpression', 'UnaryExpression']);

function isExit(node: Node): boolean {
  const call = methodCall(node);
  if (call === undefined) return false;
  if (isProcess(call.receiver)) {
    const [target] = call.args;
    return EXIT_METHODS.has(call.method) || (call.method === 'kill' && target !== undefined && dottedName(target) === 'process.pid');
  }
  return call.method === 'exit' && dottedName(call.receiver) === 'Deno';
}

function isExitReference(node: Node): boolean {
  const name = dottedName(node);
  return name === 'process.exit' || name === 'process.abort';
}

function iteratesClients(node: Node | undefined): boolean {
  if (node?.type === 'ForOfStatement') return asMember(unwrap(node.right))?.property === 'clients';
  const call = node === undefined ? undefined : methodCall(node);
  return call?.method === 'forEach' && asMember(unwrap(call.receiver))?.property === 'clients';
}

/** The functions a handler argument or callee names: inline, by name, bound, or made by a factory. */
function resolveFunctions(node: Node | undefined, file: string, service: JsService): FunctionEntry[] {
  if (node === undefined) return [];
  const bare = unwrap(node);
  if (isFunction(bare)) return [{ file, fn: bare }];
  if (bare.type === 'Identifier' || asMember(bare) !== undefined) return service.functions.get(nameOf(bare) ?? '') ?? [];
  const call = methodCall(bare);
  if (call?.method === 'bind') return resolveFunctions(call.receiver, file, service);
  const factory = asCall(bare);
  return factory === undefined ? [] : resolveFunctions(factory.callee, file, service);
}

function isReleased(timer: Node, parent: Node | undefined, service: JsService): boolean {
  if (parent === undefined) return false;
  const member = asMember(parent);
  if (member !== undefined) return member.property === 'unref' && member.object === timer;
  if (parent.type === 'VariableDeclarator' && parent.id.type === 'Identifier') return service.releasedTimers.has(parent.id.name);
  if (parent.type === 'AssignmentExpression') return service.releasedTimers.has(nameOf(parent.left) ?? '');
  return false;
}

/** Walks the shutdown path of `site`. */
export function scanRegion(site: SignalSite, service: JsService): Region {
  const region: Region = { resolved: false, exitsAtOnce: false, exitsWhenDrained: false, timers: [], closes: [], endsConnections: false, endsWsClients: false, closesAllAtOnce: [] };
  const roots = site.guessed ? [] : resolveFunctions(site.handler, site.file, service);
  const timers = new Map<Node, TimerFact>();
  const seen = new Map<Node, Set<string>>();

  const onExit = (context: Context): void => {
    if (context.timer !== undefined) context.timer.exits = true;
    else if (context.always) region.exitsAtOnce = true;
    else if (!context.sync) region.exitsWhenDrained = true;
  };

  const onMethod = (call: { receiver: Node; method: string }, node: Node, context: Context): void => {
    const receiver = nameOf(call.receiver) ?? '';
    if (call.method === 'closeIdleConnections' || call.method === 'closeAllConnections') region.endsConnections = true;
    // Synchronously in the handler, outside any timer: it destroys requests
    // accepted just before the signal along with the idle sockets.
    if (call.method === 'closeAllConnections' && context.sync && context.timer === undefined) region.closesAllAtOnce.push({ file: context.file, line: lineOf(node) });
    if (call.method === 'terminate' || (CONNECTION_ENDERS.has(call.method) && (context.clients || CONNECTION_NAME.test(receiver)))) {
      region.endsConnections = true;
      region.endsWsClients = true;
    } else if (call.method === 'close') {
      const kind = service.kindOf(receiver);
      if (kind === 'http' || kind === 'ws') region.closes.push({ file: context.file, line: lineOf(node), kind });
    }
  };

  // Functions still to walk. Each call, callback and timer the path reaches
  // is queued rather than walked in place: a service whose functions call one
  // another by name (a whole repository audited as one) would otherwise nest
  // one walk per hop and overflow the call stack.
  const work: Array<{ entry: FunctionEntry; context: Context }> = [];
  const scan = (entry: FunctionEntry, context: Context): void => {
    work.push({ entry, context });
  };

  const onTimer = (node: Node, callback: Node, parent: Node | undefined, context: Context): void => {
    // One fact per setTimeout call, however many paths reach it: a new fact
    // (and so a new walk key) per visit would walk a recursive call graph forever.
    const known = timers.get(node);
    const timer: TimerFact = known ?? { file: context.file, line: lineOf(node), exits: isExitReference(callback), released: isReleased(node, parent, service) };
    if (known === undefined) {
      region.timers.push(timer);
      timers.set(node, timer);
    }
    if (isFunction(unwrap(callback))) return;
    for (const entry of resolveFunctions(callback, context.file, service)) scan(entry, { ...context, sync: false, always: false, timer });
  };

  const walk = (entry: FunctionEntry, context: Context): void => {
    const timer = context.timer === undefined ? -1 : region.timers.indexOf(context.timer);
    const flags = `${context.sync}:${context.always}:${timer}:${context.clients}`;
    const done = seen.get(entry.fn) ?? new Set();
    if (done.has(flags)) return;
    seen.set(entry.fn, done.add(flags));
    const sync = context.sync && !entry.fn.async;
    visit(entry.fn.body, (node, ancestors) => {
      const parent = ancestors.at(-1);
      if (isFunction(node)) {
        // The timer map is filled when its setTimeout call is entered, which
        // is before this callback (one of its arguments) is: `armed` is known here.
        const armed = parent === undefined ? undefined : timers.get(parent);
        scan({ file: entry.file, fn: node }, { file: entry.file, sync: false, always: false, timer: armed ?? context.timer, clients: context.clients || iteratesClients(parent) });
        return false;
      }
      const call = asCall(node);
      if (call === undefined) return;
      const here: Context = {
        file: entry.file,
        sync,
        always: sync && context.always && ancestors.every((ancestor) => ALWAYS_PARENTS.has(ancestor.type)),
        timer: context.timer,
        clients: context.clients || ancestors.some(iteratesClients),
      };
      if (isExit(node)) return onExit(here);
      const [callback] = call.args;
      if (nameOf(call.callee) === 'setTimeout' && callback !== undefined) return onTimer(node, callback, parent, here);
      const method = methodCall(node);
      if (method !== undefined) onMethod(method, node, here);
      // Follow what the path calls by name, and the named callbacks it hands
      // on (`server.close(done)`), which run later.
      for (const callee of resolveFunctions(call.callee, entry.file, service)) scan(callee, here);
      for (const arg of call.args) {
        const named = unwrap(arg);
        if (named.type === 'Identifier' || asMember(named) !== undefined) {
          for (const callee of resolveFunctions(named, entry.file, service)) scan(callee, { ...here, sync: false, always: false });
        }
      }
    });
  };

  for (const root of roots) scan(root, { file: root.file, sync: true, always: true, timer: undefined, clients: false });
  // Depth-first, as the nested walk went: the last queued first.
  for (let item = work.pop(); item !== undefined; item = work.pop()) walk(item.entry, item.context);
  return { ...region, resolved: roots.length > 0 };
}
