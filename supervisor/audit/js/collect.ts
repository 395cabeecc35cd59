/**
 * What one JS/TS file contributes to its service's audit: where servers are
 * made and listened on, which names hold them, which functions exist by name,
 * and where signal handlers are registered. The rules join these across every
 * file of the service, since handlers registered anywhere count.
 */
import type { File, Node } from '@babel/types';
import { collectConstants, collectImports, type ImportMap } from './imports.ts';
import { creationOf, type ServerKind } from './servers.ts';
import { dottedName, isFunction, keyName, lineOf, methodCall, nameOf, stringValue, unwrap, type FunctionNode } from './syntax.ts';
import { signalsOf } from './signals.ts';
import { visit } from './visit.ts';

/** A place where a server is created, or where something server-like listens. */
export interface ServerSite {
  file: string;
  line: number;
  kind: ServerKind;
  what: string;
  /** For `x.listen()`: the name of `x`, whose kind is only known service-wide. */
  listener?: string;
}

/** A registration of a handler for one or more signals. */
export interface SignalSite {
  file: string;
  line: number;
  signals: string[];
  /** The handler argument as written (a function, a name, `this.stop.bind(this)`…). */
  handler: Node | undefined;
  /** A library (close-with-grace, terminus) owns the handler and its forced exit. */
  managed: boolean;
  /**
   * The signal is a variable this audit cannot read (a parameter of a helper,
   * as in `onSignal(signal, fn)`); `signals` is then empty until the service
   * is joined.
   */
  guessed: boolean;
}

/** A function found under a name, with its file. */
export interface FunctionEntry {
  file: string;
  fn: FunctionNode;
}

/** Everything one file contributes. */
export interface JsFileFacts {
  servers: ServerSite[];
  signals: SignalSite[];
  bindings: Array<[string, ServerKind]>;
  functions: Array<[string, FunctionEntry]>;
  /** Names of timers that are unref'd or cleared somewhere in the file. */
  releasedTimers: string[];
  /** A library that tracks and ends connections wraps a server (stoppable, http-terminator…). */
  tracksConnections: boolean;
  /** The file spells out 'SIGTERM' as a string. */
  mentionsSigterm: boolean;
}

const LISTENER_METHODS = new Set(['on', 'once', 'addListener', 'prependListener', 'prependOnceListener']);
const CONNECTION_TRACKERS = new Set(['stoppable', 'createHttpTerminator', 'enableDestroy', 'createTerminus']);
const MANAGED_HANDLERS = new Set(['closeWithGrace', 'createTerminus']);
/** outlast's own helper; its name is only trusted in a file that names the module. */
const OUTLAST_SHUTDOWN = 'outlast/shutdown';

/** The name a declaration, property or assignment gives its value. */
function boundName(node: Node): { name: string; value: Node } | undefined {
  if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.init != null) return { name: node.id.name, value: node.init };
  if (node.type === 'AssignmentExpression' && node.operator === '=') {
    const name = nameOf(node.left);
    return name === undefined ? undefined : { name, value: node.right };
  }
  if (node.type === 'ClassProperty' || node.type === 'ClassPrivateProperty' || node.type === 'ObjectProperty') {
    const name = keyName(node.key);
    return name === undefined || node.value == null ? undefined : { name, value: node.value };
  }
  return undefined;
}

function functionName(node: FunctionNode): string | undefined {
  if (node.type === 'FunctionDeclaration') return node.id?.name;
  if (node.type === 'ClassMethod' || node.type === 'ClassPrivateMethod' || node.type === 'ObjectMethod') {
    const name = keyName(node.key);
    return name === 'constructor' ? undefined : name;
  }
  return undefined;
}

/** The name of a timer `t` in `t.unref()` or `clearTimeout(t)`. */
function releasedTimer(node: Node): string | undefined {
  const call = methodCall(node);
  if (call?.method === 'unref') return nameOf(call.receiver);
  if (node.type !== 'CallExpression' || node.callee.type !== 'Identifier' || node.callee.name !== 'clearTimeout') return undefined;
  const [timer] = node.arguments;
  return timer === undefined ? undefined : nameOf(timer);
}

interface SignalContext {
  constants: ReadonlyMap<string, Node>;
  /** Local names of the process object: `process` and imports of node:process. */
  processNames: ReadonlySet<string>;
  /** The file imports or requires outlast/shutdown (statically or with import()). */
  usesOutlastShutdown: boolean;
}

function signalContext(ast: File, imports: ImportMap): SignalContext {
  const processNames = new Set(['process', 'globalThis.process']);
  for (const [name, module] of imports) if (module === 'process') processNames.add(name);
  let usesOutlastShutdown = false;
  visit(ast.program, (node) => {
    if (stringValue(node) === OUTLAST_SHUTDOWN) usesOutlastShutdown = true;
  });
  return { constants: collectConstants(ast), processNames, usesOutlastShutdown };
}

/** `gracefulShutdown(server)` (or `helper.gracefulShutdown(server)`) of outlast/shutdown. */
function isOutlastShutdown(node: Node, context: SignalContext): boolean {
  return context.usesOutlastShutdown && node.type === 'CallExpression' && nameOf(node.callee) === 'gracefulShutdown';
}

function isSignalRegistration(receiver: Node, method: string, context: SignalContext): boolean {
  const name = dottedName(receiver) ?? '';
  return (LISTENER_METHODS.has(method) && context.processNames.has(name)) || (method === 'addSignalListener' && name === 'Deno');
}

function signalSite(file: string, node: Node, ancestors: readonly Node[], context: SignalContext): SignalSite | undefined {
  const line = lineOf(node);
  const call = methodCall(node);
  if (call !== undefined && isSignalRegistration(call.receiver, call.method, context)) {
    const [event, handler] = call.args;
    if (event === undefined) return undefined;
    const names = signalsOf(event, ancestors, context.constants);
    if (names === undefined) return { file, line, signals: [], handler, managed: false, guessed: true };
    const signals = names.filter((name) => name.startsWith('SIG'));
    return signals.length === 0 ? undefined : { file, line, signals, handler, managed: false, guessed: false };
  }
  // close-with-grace and terminus register SIGTERM and SIGINT themselves and
  // force the exit after their own delay.
  if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && MANAGED_HANDLERS.has(node.callee.name)) {
    const handler = node.arguments.findLast((arg) => isFunction(unwrap(arg)));
    return { file, line, signals: ['SIGTERM', 'SIGINT'], handler, managed: true, guessed: false };
  }
  // outlast/shutdown drains, ends every connection and arms its own
  // unref'd hard exit.
  if (isOutlastShutdown(node, context)) return { file, line, signals: ['SIGTERM', 'SIGINT'], handler: undefined, managed: true, guessed: false };
  return undefined;
}

/** The facts of one parsed file. */
export function collectFacts(file: string, ast: File): JsFileFacts {
  const imports = collectImports(ast);
  const context = signalContext(ast, imports);
  const facts: JsFileFacts = { servers: [], signals: [], bindings: [], functions: [], releasedTimers: [], tracksConnections: false, mentionsSigterm: false };
  visit(ast.program, (node, ancestors) => {
    if (stringValue(node) === 'SIGTERM') facts.mentionsSigterm = true;
    if (isFunction(node)) {
      const name = functionName(node);
      if (name !== undefined) facts.functions.push([name, { file, fn: node }]);
    }
    const bound = boundName(node);
    if (bound !== undefined) {
      const value = unwrap(bound.value);
      if (isFunction(value)) facts.functions.push([bound.name, { file, fn: value }]);
      // `const server = app.listen(…)`: express and koa return the http.Server.
      const kind = creationOf(value, imports)?.kind ?? (methodCall(value)?.method === 'listen' ? 'http' : undefined);
      if (kind !== undefined) facts.bindings.push([bound.name, kind]);
    }
    const creation = node.type === 'NewExpression' || node.type === 'CallExpression' ? creationOf(node, imports) : undefined;
    if (creation !== undefined && creation.kind !== 'app' && creation.kind !== 'fastify') facts.servers.push({ file, line: lineOf(node), ...creation });
    const call = methodCall(node);
    if (call?.method === 'listen') {
      const listener = nameOf(call.receiver);
      if (listener !== undefined) facts.servers.push({ file, line: lineOf(node), kind: 'http', what: `${dottedName(call.receiver) ?? listener}.listen()`, listener });
    }
    const timer = releasedTimer(node);
    if (timer !== undefined) facts.releasedTimers.push(timer);
    if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && CONNECTION_TRACKERS.has(node.callee.name)) facts.tracksConnections = true;
    if (isOutlastShutdown(node, context)) facts.tracksConnections = true;
    const site = signalSite(file, node, ancestors, context);
    if (site !== undefined) facts.signals.push(site);
  });
  return facts;
}
