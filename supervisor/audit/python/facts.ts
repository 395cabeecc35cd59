/**
 * What one Python file contributes to its service's audit, read from its
 * logical lines: where it serves, which signal handlers it registers, which
 * functions it defines, and where serve_forever() runs on the main thread.
 */
import { callArgs } from '../text.ts';
import { lineAt, pythonLines, type PyLine } from './source.ts';

/** A place where the file serves. */
export interface PyServer {
  file: string;
  line: number;
  what: string;
}

/** A `signal.signal(...)` or `loop.add_signal_handler(...)` registration. */
export interface PyHandler {
  file: string;
  line: number;
  /** Empty when `guessed`. */
  signals: string[];
  /** The signal is a variable this scan cannot read; the rules decide what it counts as. */
  guessed: boolean;
  /** Names of functions the handler runs, by their last dotted part. */
  calls: string[];
  /** A lambda handler's logical line, where its body is. */
  inline: PyLine | undefined;
}

/** A `def` with the logical lines of its body. */
export interface PyFunction {
  file: string;
  name: string;
  body: PyLine[];
}

/** Everything one Python file contributes. */
export interface PyFacts {
  servers: PyServer[];
  /** uvicorn.run or aiohttp's run_app: the framework handles SIGTERM itself. */
  managed: boolean;
  handlers: PyHandler[];
  /** SIGINT handled by `except KeyboardInterrupt`. */
  interrupts: Array<{ file: string; line: number }>;
  /** Receivers of serve_forever() called outside a thread, like `httpd` or `self.server`. */
  mainThreadServers: string[];
  functions: PyFunction[];
  /** SIGTERM is named in code (not in a string or comment). */
  mentionsSigterm: boolean;
}

const SERVERS: Array<[RegExp, string]> = [
  [/\.serve_forever\b/, 'serve_forever()'],
  [/\.handle_request\s*\(/, 'handle_request()'],
  [/\b(?:app|application|\w+_app)\.run\s*\(/, 'app.run()'],
  [/\brun_simple\s*\(/, 'run_simple()'],
  [/\bstart(?:_unix)?_server\s*\(/, 'asyncio.start_server()'],
  [/\.create(?:_unix)?_server\s*\(/, 'loop.create_server()'],
  [/\bTCPSite\s*\(/, 'aiohttp TCPSite'],
  [/\bwaitress\.serve\s*\(/, 'waitress.serve()'],
];
const ACCEPT = /\.accept\s*\(\s*\)/;
// uvicorn.run() and aiohttp's run_app() install their own SIGTERM handlers and drain.
const MANAGED = /\buvicorn\.run\s*\(|\brun_app\s*\(/;
const REGISTRATION = /\bsignal\.signal\s*\(|\.add_signal_handler\s*\(/g;
// `signal(SIGTERM, h)` after `from signal import signal`.
const BARE_REGISTRATION = /\bsignal\.signal\s*\(|\.add_signal_handler\s*\(|(?<![\w.]|def\s+)signal\s*\(/g;
const DEF = /^(?:async\s+)?def\s+(\w+)\s*\(/;

/** Whether `offset` of `text` sits inside the arguments of a `Thread(...)` call. */
export function inThreadCall(text: string, offset: number): boolean {
  const open = text.lastIndexOf('Thread(', offset);
  if (open === -1) return false;
  let depth = 0;
  for (const char of text.slice(open + 'Thread'.length, offset)) depth += char === '(' ? 1 : char === ')' ? -1 : 0;
  return depth > 0;
}

/** The signals a registration's first argument names, following a `for sig in (...)` loop around it. */
function signalNames(arg: string, at: number, lines: readonly PyLine[]): string[] | undefined {
  const named = arg.match(/\bSIG[A-Z]+\b/g);
  if (named !== null) return named;
  if (!/^\w+$/.test(arg)) return undefined;
  // Walk out through the enclosing blocks (each a line indented less than
  // the last) to the loop that binds `arg`.
  let indent = lines[at]?.indent ?? 0;
  for (let i = at - 1; i >= 0; i -= 1) {
    const line = lines[i];
    if (line === undefined || line.indent >= indent) continue;
    indent = line.indent;
    const loop = line.text.match(/^(?:async\s+)?for\s+(\w+)\s+in\s+(.+):$/);
    if (loop?.[1] !== arg) continue;
    const iterable = loop[2] ?? '';
    const constant = lines.find((candidate) => candidate.indent === 0 && candidate.text.startsWith(`${iterable} =`));
    return (constant?.text ?? iterable).match(/\bSIG[A-Z]+\b/g) ?? undefined;
  }
  return undefined;
}

/** What a handler argument runs: a lambda's line, or the functions it names. */
function handlerCalls(arg: string, line: PyLine): Pick<PyHandler, 'calls' | 'inline'> | undefined {
  if (/\bSIG_(?:DFL|IGN)\b/.test(arg)) return undefined;
  if (/^lambda\b/.test(arg)) return { calls: [], inline: line };
  const name = arg.match(/^(?:functools\.)?partial\(\s*([\w.]+)/)?.[1] ?? arg.match(/^([\w.]+)\s*(?:\(|$)/)?.[1];
  return { calls: name === undefined ? [] : [name.split('.').at(-1) ?? name], inline: undefined };
}

function registrations(file: string, lines: readonly PyLine[], at: number, registration: RegExp): PyHandler[] {
  const line = lines[at];
  if (line === undefined) return [];
  const handlers: PyHandler[] = [];
  for (const match of line.text.matchAll(registration)) {
    const [event, handler] = callArgs(line.text, match.index + match[0].length - 1);
    if (event === undefined || handler === undefined) continue;
    const signals = signalNames(event, at, lines);
    const runs = handlerCalls(handler, line);
    if (runs !== undefined) handlers.push({ file, line: lineAt(line, match.index), signals: signals ?? [], guessed: signals === undefined, ...runs });
  }
  return handlers;
}

/** The facts of one Python file. */
export function pythonFacts(file: string, source: string): PyFacts {
  const lines = pythonLines(source);
  const code = lines.map((line) => line.text).join('\n');
  const listens = /\.listen\s*\(/.test(code);
  const facts: PyFacts = { servers: [], managed: MANAGED.test(code), handlers: [], interrupts: [], mainThreadServers: [], functions: [], mentionsSigterm: /\bSIGTERM\b/.test(code) };
  const registration = /\bfrom\s+signal\s+import\b/.test(code) ? BARE_REGISTRATION : REGISTRATION;
  const threadTargets = new Set([...code.matchAll(/\btarget\s*=\s*(?:[\w.]+\.)?(\w+)/g)].map((match) => match[1]));
  let enclosing: { name: string; indent: number } | undefined;
  lines.forEach((line, at) => {
    if (enclosing !== undefined && line.indent <= enclosing.indent) enclosing = undefined;
    const def = line.text.match(DEF);
    if (def?.[1] !== undefined) {
      const end = lines.findIndex((next, i) => i > at && next.indent <= line.indent);
      facts.functions.push({ file, name: def[1], body: lines.slice(at + 1, end === -1 ? undefined : end) });
      enclosing ??= { name: def[1], indent: line.indent };
    }
    // A def line is a definition (asyncio's own start_server), not a use.
    const server = def !== null ? undefined : SERVERS.find(([pattern]) => pattern.test(line.text)) ?? (listens && ACCEPT.test(line.text) ? [ACCEPT, 'socket accept() loop'] : undefined);
    if (server !== undefined) facts.servers.push({ file, line: lineAt(line, line.text.search(server[0])), what: server[1] });
    const serve = line.text.match(/([\w.]+)\.serve_forever\s*\(/);
    // serve_forever() blocks the thread it runs on; only on the main thread
    // does a signal handler interrupt it (signal handlers run on the main thread).
    if (serve?.[1] !== undefined && !inThreadCall(line.text, serve.index ?? 0) && !threadTargets.has(enclosing?.name)) facts.mainThreadServers.push(serve[1]);
    if (/\bexcept\b[^:]*\bKeyboardInterrupt\b/.test(line.text)) facts.interrupts.push({ file, line: line.line });
    facts.handlers.push(...registrations(file, lines, at, registration));
  });
  return facts;
}
