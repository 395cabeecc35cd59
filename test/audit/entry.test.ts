// The sources of a service named by its command: its entry file and its own
// imports, followed by relative path, and nothing else in the directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeAuditFs } from '../../supervisor/audit/index.ts';
import { entryFile, entrySources } from '../../supervisor/audit/entry.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-entry-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('audit sources from the service command', () => {
  it('takes the first argument that is a source file, and follows its relative imports', async () => {
    const dir = tree({
      'app/server.ts': "import { stop } from './lib/stop.js';\nimport http from 'node:http';\nexport * from './reexport';\n",
      'app/lib/stop.ts': "const cfg = require('../config.cjs');\nexport const stop = () => import('./late.mjs');\n",
      'app/reexport/index.js': '',
      'app/config.cjs': '',
      'app/lib/late.mjs': '',
      'app/unrelated.js': "process.on('SIGINT', () => {});",
      'node_modules/x/index.js': '',
    });
    const entry = await entryFile(nodeAuditFs, ['node', '--enable-source-maps', 'missing.js', 'app/server.ts', 'other.js'], dir);
    expect(entry).toBe(join(dir, 'app/server.ts'));
    const sources = await entrySources(nodeAuditFs, entry ?? '', dir);
    expect(sources.map((source) => source.path)).toEqual(['app/server.ts', 'app/lib/stop.ts', 'app/reexport/index.js', 'app/config.cjs', 'app/lib/late.mjs']);
  });

  it('finds no entry when no argument is a source file', async () => {
    expect(await entryFile(nodeAuditFs, ['./server', '--port', '80'], tree({ 'server': '' }))).toBeUndefined();
  });
});
