// No file and no call graph may crash the audit: a handler whose path runs
// through thousands of named calls is walked without recursion, a file that
// cannot be analysed is reported as such, and the audit of this repository
// itself (one service of every fixture and source) finishes with the
// documented exit code.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { auditService, type Finding } from '../../supervisor/audit/index.ts';
import { BIN, ROOT } from '../support/supervisor.ts';

/** A server whose SIGTERM handler reaches its exit through `depth` functions calling one another by name. */
function deepChain(depth: number): string {
  const lines = ["import http from 'node:http';", 'const server = http.createServer();', 'server.listen(8080);'];
  for (let i = 0; i < depth; i++) lines.push(`function step${i}() { step${i + 1}(); step${i}(); }`);
  lines.push(`function step${depth}() { server.close(); server.closeIdleConnections(); setTimeout(() => process.exit(1), 5000).unref(); }`);
  lines.push("process.on('SIGTERM', () => step0());");
  return lines.join('\n');
}

describe('audit robustness', () => {
  it('walks a shutdown path through 20,000 named calls without overflowing the stack', () => {
    const findings = auditService([{ path: 'svc/server.js', text: deepChain(20_000) }]);
    expect(findings).toEqual([]);
  });

  it('reports a file it cannot analyse as low "not-analysed", naming the file, and audits the rest', () => {
    const broken = {
      path: 'svc/weird.js',
      get text(): string {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const findings = auditService([broken, { path: 'svc/server.js', text: "require('http').createServer().listen(1);" }]);
    expect(findings.map((f) => [f.rule, f.severity, f.file])).toEqual([
      ['no-sigterm-handler', 'high', 'svc/server.js'],
      ['not-analysed', 'low', 'svc/weird.js'],
    ]);
    expect(findings[1]?.message).toMatch(/not analysed: RangeError: Maximum call stack size exceeded/);
  });

  it('audits this repository as one service and exits 1 exactly when a finding is high', () => {
    const res = spawnSync(process.execPath, [BIN, 'audit', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    expect(res.stderr).not.toMatch(/Maximum call stack|RangeError/);
    const { findings } = JSON.parse(res.stdout) as { findings: Finding[] };
    expect(res.status).toBe(findings.some((f) => f.severity === 'high') ? 1 : 0);
    expect(findings.filter((f) => f.rule === 'not-analysed')).toEqual([]);
  });
});
