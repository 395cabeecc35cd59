/**
 * The Go rules, as a text scan with comments and string contents blanked: a
 * service that serves HTTP must ask for SIGTERM with signal.Notify or
 * signal.NotifyContext, since Go's default action on SIGTERM is to exit at once.
 */
import { earliest, makeFinding, type Finding } from '../finding.ts';
import type { SourceFile } from '../sources.ts';
import { callArgs, lineOfOffset } from '../text.ts';

/** Go source with comments and the contents of strings and runes replaced by spaces. */
export function blankGo(source: string): string {
  const out = source.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k += 1) if (out[k] !== '\n') out[k] = ' ';
  };
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    const next = source[i + 1];
    let end = i + 1;
    if (char === '/' && next === '/') {
      end = source.indexOf('\n', i);
      end = end === -1 ? source.length : end;
      blank(i, end);
    } else if (char === '/' && next === '*') {
      end = source.indexOf('*/', i + 2);
      end = end === -1 ? source.length : end + 2;
      blank(i, end);
    } else if (char === '`') {
      end = source.indexOf('`', i + 1);
      end = end === -1 ? source.length : end + 1;
      blank(i + 1, end - 1);
    } else if (char === '"' || char === "'") {
      while (end < source.length && source[end] !== char && source[end] !== '\n') end += source[end] === '\\' ? 2 : 1;
      blank(i + 1, end);
      end += 1;
    }
    i = end;
  }
  return out.join('');
}

interface Notify {
  file: string;
  line: number;
  term: boolean;
  interrupt: boolean;
}

function notifies(file: string, code: string): Notify[] {
  return [...code.matchAll(/\bsignal\.Notify(?:Context)?\s*\(/g)].map((match) => {
    // The first argument is the channel or the parent context; no signals
    // after it means every signal.
    const signals = callArgs(code, match.index + match[0].length - 1).slice(1).join(',');
    const spread = signals.includes('...') && /\bSIGTERM\b/.test(code);
    return {
      file,
      line: lineOfOffset(code, match.index),
      term: signals === '' || spread || /\bSIGTERM\b/.test(signals),
      interrupt: signals === '' || /\bSIGINT\b|\bos\.Interrupt\b/.test(signals),
    };
  });
}

/** Audits the Go files of one service. */
export function auditGo(sources: readonly SourceFile[]): Finding[] {
  const servers: Array<{ file: string; line: number; what: string }> = [];
  const handlers: Notify[] = [];
  for (const source of sources) {
    const code = blankGo(source.text);
    for (const match of code.matchAll(/\b(?:\w+\.)?ListenAndServe(?:TLS)?\s*\(|\b\w+\.Serve(?:TLS)?\s*\(/g)) {
      servers.push({ file: source.path, line: lineOfOffset(code, match.index), what: `${match[0].replace(/\s*\($/, '')}()` });
    }
    handlers.push(...notifies(source.path, code));
  }
  if (handlers.some((handler) => handler.term)) return [];
  const findings: Finding[] = [];
  const server = earliest(servers);
  if (server !== undefined) {
    findings.push(makeFinding('go-no-sigterm-handler', server.file, server.line,
      `${server.what} serves here, but nothing in the service asks for SIGTERM: Go's default action exits at once, cutting in-flight requests, and as PID 1 in a container SIGTERM is ignored until the runtime's SIGKILL.`));
  }
  const sigint = earliest(handlers.filter((handler) => handler.interrupt));
  if (sigint !== undefined) {
    findings.push(makeFinding('sigint-without-sigterm', sigint.file, sigint.line,
      'signal.Notify asks for os.Interrupt (SIGINT) but not SIGTERM: Ctrl-C drains the server, a stop by systemd or a container runtime does not.'));
  }
  return findings;
}
