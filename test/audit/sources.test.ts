// Finding a service's files, and the human output of findings.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { auditPaths, formatFindings, hasHigh, nodeAuditFs, type AuditFs, type Finding } from '../../supervisor/audit/index.ts';
import { collectSources } from '../../supervisor/audit/sources.ts';

/** An in-memory AuditFs over `files` (path → text); directories are implied by the paths. */
function memoryFs(files: Record<string, string>): AuditFs {
  const paths = Object.keys(files);
  const isDir = (path: string): boolean => paths.some((file) => file.startsWith(`${path}/`));
  return {
    kind: async (path) => (path in files ? 'file' : isDir(path) ? 'dir' : undefined),
    list: async (dir) => {
      const names = new Set(paths.filter((file) => file.startsWith(`${dir}/`)).map((file) => file.slice(dir.length + 1).split('/')[0] ?? ''));
      return [...names].map((name) => ({ name, kind: `${dir}/${name}` in files ? 'file' as const : 'dir' as const }));
    },
    readFile: async (path) => files[path] ?? '',
  };
}

describe('audit sources', () => {
  const fs = memoryFs({
    'svc/src/server.ts': 'createServer().listen(1);',
    'svc/src/types.d.ts': 'declare const x: number;',
    'svc/src/app.tsx': 'export const a = <p/>;',
    'svc/lib/worker.py': 'pass',
    'svc/cmd/main.go': 'package main',
    'svc/public/app.min.js': 'minified()',
    'svc/README.md': '# svc',
    'svc/node_modules/ws/index.js': 'new WebSocketServer()',
    'svc/dist/server.js': 'createServer().listen(1);',
    'svc/.git/hooks/x.js': '',
    'svc/.venv/lib/site.py': 'serve_forever()',
  });

  it('walks in name order, keeps the audited languages and skips third-party and build directories', async () => {
    expect((await collectSources(fs, 'svc')).map((source) => source.path)).toEqual(['svc/cmd/main.go', 'svc/lib/worker.py', 'svc/src/app.tsx', 'svc/src/server.ts']);
  });

  it('skips what a .gitignore lists, below it, unless the path names it', async () => {
    const ignoring = memoryFs({
      'svc/.gitignore': '# build output\ngenerated/\n*.bundle.js\n/out.js\n!keep.bundle.js\n',
      'svc/src/server.ts': 'createServer().listen(1);',
      'svc/src/app.bundle.js': 'x',
      'svc/src/keep.bundle.js': 'x',
      'svc/src/out.js': 'x',
      'svc/out.js': 'x',
      'svc/generated/api.ts': 'x',
      'svc/src/generated/db.ts': 'x',
      'svc/dist/server.js': 'x',
    });
    expect((await collectSources(ignoring, 'svc')).map((source) => source.path)).toEqual(['svc/src/keep.bundle.js', 'svc/src/out.js', 'svc/src/server.ts']);
    expect((await collectSources(ignoring, 'svc/generated')).map((source) => source.path)).toEqual(['svc/generated/api.ts']);
    expect((await collectSources(ignoring, 'svc/dist')).map((source) => source.path)).toEqual(['svc/dist/server.js']);
  });

  it('takes a single file as a service of its own', async () => {
    expect((await collectSources(fs, 'svc/src/server.ts')).map((source) => source.path)).toEqual(['svc/src/server.ts']);
  });

  it('throws NOT_FOUND for a path that does not exist', async () => {
    await expect(auditPaths(['nowhere'], { fs })).rejects.toMatchObject({ code: 'NOT_FOUND', details: { path: 'nowhere' } });
    await expect(auditPaths(['nowhere'], { fs })).rejects.toBeInstanceOf(OutlastError);
  });

  it('reads the real file system', async () => {
    const dir = join(import.meta.dirname, '../fixtures/audit/express-good');
    expect(await nodeAuditFs.kind(join(dir, 'missing'))).toBeUndefined();
    expect((await collectSources(nodeAuditFs, dir)).map((source) => source.path)).toEqual(['app.js', 'index.js', 'shutdown.js'].map((name) => join(dir, 'src', name)));
  });
});

describe('audit output', () => {
  const finding = (severity: Finding['severity']): Finding => ({
    file: 'svc/server.js',
    line: 3,
    severity,
    rule: 'no-sigterm-handler',
    message: 'No handler.',
    fix: 'Add one.',
  });

  it('prints each finding with its place and fix, then the counts', () => {
    expect(formatFindings([finding('high'), { ...finding('low'), line: 9 }])).toBe(
      'svc/server.js:3: high no-sigterm-handler\n  No handler.\n  fix: Add one.\n\n'
      + 'svc/server.js:9: low no-sigterm-handler\n  No handler.\n  fix: Add one.\n\n'
      + '2 findings: 1 high, 0 medium, 1 low\n',
    );
    expect(formatFindings([])).toBe('No findings.\n');
  });

  it('tells whether any finding is high', () => {
    expect(hasHigh([finding('medium'), finding('high')])).toBe(true);
    expect(hasHigh([finding('medium'), finding('low')])).toBe(false);
    expect(hasHigh([])).toBe(false);
  });
});
