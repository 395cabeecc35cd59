// The fixture corpus: small realistic services, good and bad. Each expected
// finding is marked in its fixture by a trailing `audit: <rule>` comment on
// the line it must point at; a good case has no marks and no findings.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditPaths, auditService, nodeAuditFs, type RuleId, type Severity } from '../../supervisor/audit/index.ts';
import { collectSources } from '../../supervisor/audit/sources.ts';

const CORPUS = join(import.meta.dirname, '../fixtures/audit');

const CASES: Record<string, Array<[RuleId, Severity]>> = {
  'node-no-handler': [['no-sigterm-handler', 'high']],
  'node-good': [],
  'node-close-all-at-once': [['close-all-at-once', 'low']],
  'node-close-all-after-grace': [],
  'node-ws-keepalive': [['close-without-idle', 'medium'], ['no-hard-exit-fallback', 'medium']],
  'node-ws-good': [],
  'node-no-fallback': [['no-hard-exit-fallback', 'medium']],
  'node-timer-not-unrefd': [['timer-not-unrefd', 'medium']],
  'node-outlast-helper-good': [],
  'node-own-graceful-no-handler': [['no-sigterm-handler', 'high']],
  'node-sigint-only': [['no-sigterm-handler', 'high'], ['sigint-without-sigterm', 'low']],
  'express-good': [],
  'fastify-good': [],
  'ts-good': [],
  'ts-no-handler': [['no-sigterm-handler', 'high']],
  'python-no-signal': [['python-no-sigterm-handler', 'high']],
  'python-forth-no-signal': [['python-no-sigterm-handler', 'high'], ['sigint-without-sigterm', 'low']],
  'python-shutdown-deadlock': [['python-shutdown-in-signal-handler', 'high']],
  'python-good': [],
  'python-raw-socket-good': [],
  'python-asyncio-good': [],
  'python-uvicorn-good': [],
  'go-good': [],
  'go-bad': [['go-no-sigterm-handler', 'high']],
  'go-interrupt-only': [['go-no-sigterm-handler', 'high'], ['sigint-without-sigterm', 'low']],
};

interface Mark {
  file: string;
  line: number;
  rule: string;
}

function marks(dir: string): Mark[] {
  const found: Mark[] = [];
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(m?[jt]s|cjs|py|go)$/.test(file)) continue;
    readFileSync(join(dir, file), 'utf8').split('\n').forEach((text, index) => {
      for (const match of text.matchAll(/(?:\/\/|#) audit: ([a-z-]+)/g)) found.push({ file, line: index + 1, rule: match[1] ?? '' });
    });
  }
  return found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

const byRule = (a: [string, string], b: [string, string]): number => a[0].localeCompare(b[0]);

describe('audit corpus', () => {
  it('has a case for every fixture directory', () => {
    expect(readdirSync(CORPUS).sort()).toEqual(Object.keys(CASES).sort());
  });

  it.each(Object.entries(CASES))('%s', async (name, expected) => {
    const dir = join(CORPUS, name);
    const findings = await auditPaths([dir]);
    expect(findings.map((finding): [string, string] => [finding.rule, finding.severity]).sort(byRule)).toEqual([...expected].sort(byRule));
    expect(findings.map((finding) => ({ file: relative(dir, finding.file), line: finding.line, rule: finding.rule }))).toEqual(marks(dir));
  });

  it('keeps services apart: one directory per service, findings in path order', async () => {
    const findings = await auditPaths([join(CORPUS, 'node-no-handler'), join(CORPUS, 'node-good'), join(CORPUS, 'go-bad')]);
    expect(findings.map((finding) => finding.rule)).toEqual(['go-no-sigterm-handler', 'no-sigterm-handler']);
  });
});

// Each good case, broken in one place, must trigger the rule that place
// guards: the good cases are clean for the right reason, not by accident.
type Edit = [from: string, to: string];
const MUTATIONS: Array<[string, string, Edit[], RuleId[]]> = [
  ['node-good', 'server.js', [['  server.closeIdleConnections();\n', ''], ['    server.closeAllConnections();\n', '']], ['close-without-idle']],
  ['node-good', 'server.js', [["['SIGTERM', 'SIGINT']", "['SIGINT']"]], ['no-sigterm-handler', 'sigint-without-sigterm']],
  ['node-ws-good', 'chat.js', [['    sock.destroy();\n', '']], ['close-without-idle']],
  ['node-ws-good', 'chat.js', [['  setTimeout(() => process.exit(0), 2000).unref();\n', '']], ['no-hard-exit-fallback']],
  // The close callback exits, so the fallback timer cannot delay a clean drain…
  ['express-good', 'src/shutdown.js', [['    timer.unref();\n', '']], []],
  // …until nothing but the event loop emptying ends it.
  ['express-good', 'src/shutdown.js', [['    timer.unref();\n', ''], ['server.close(() => process.exit(0));', 'server.close();']], ['timer-not-unrefd']],
  ['fastify-good', 'server.mjs', [['  setTimeout(() => process.exit(1), 10_000).unref();\n', '']], ['no-hard-exit-fallback']],
  ['ts-good', 'src/api.mts', [['    this.server.closeIdleConnections();\n', '']], ['close-without-idle']],
  ['python-good', 'server.py', [['threading.Thread(target=server.shutdown, daemon=True).start()', 'server.shutdown()']], ['python-shutdown-in-signal-handler']],
  ['python-good', 'server.py', [['    signal.signal(signal.SIGTERM, _shutdown)\n', '']], ['python-no-sigterm-handler']],
  ['python-asyncio-good', 'server.py', [['signal.SIGTERM, ', '']], ['python-no-sigterm-handler', 'sigint-without-sigterm']],
  ['python-raw-socket-good', 'forth_server.py', [['signal.SIGTERM', 'signal.SIGINT']], ['python-no-sigterm-handler', 'sigint-without-sigterm']],
  ['go-good', 'main.go', [[', syscall.SIGTERM', '']], ['go-no-sigterm-handler', 'sigint-without-sigterm']],
];

describe('audit corpus, mutated', () => {
  it.each(MUTATIONS)('%s/%s edited by %j', async (name, file, edits, rules) => {
    const dir = join(CORPUS, name);
    const sources = (await collectSources(nodeAuditFs, dir)).map((source) => {
      if (source.path !== join(dir, file)) return source;
      let text = source.text;
      for (const [from, to] of edits) {
        expect(text).toContain(from);
        text = text.replace(from, to);
      }
      return { ...source, text };
    });
    expect(auditService(sources).map((finding) => finding.rule).sort()).toEqual(rules);
  });
});
