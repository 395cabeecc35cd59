/**
 * Builds the demo's local update feed (examples/demo/feed) from
 * examples/hello: 1.0.0 and 1.1.0 as they are, and 1.2.0 broken on purpose
 * (it passes its preflight but crashes on start), so the automatic rollback
 * can be seen. Run by `npm start`; it does nothing when the feed exists.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeFs } from '../../supervisor/host/node-fs.ts';
import { packRelease } from '../../supervisor/update/pack.ts';

const here = import.meta.dirname;
const feed = join(here, 'feed');
const hello = resolve(here, '../hello');

const BROKEN = `// hello 1.2.0: broken on purpose for the outlast demo.
import { readFileSync } from 'node:fs';
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
if (process.argv.includes('--version')) {
  console.log(version);
  process.exit(0);
}
console.log('hello ' + version + ' starting...');
setTimeout(() => {
  throw new Error('hello 1.2.0 is broken on purpose: it crashes on start');
}, 300);
`;

async function release(version: string, broken: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-demo-'));
  try {
    cpSync(hello, dir, { recursive: true });
    const pkgPath = join(dir, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(pkgPath, `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
    if (broken) writeFileSync(join(dir, 'server.js'), BROKEN);
    await packRelease(nodeFs, { dir, version, feed, name: 'hello' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!existsSync(join(feed, 'manifest.json'))) {
  await release('1.0.0', false);
  await release('1.1.0', false);
  await release('1.2.0', true);
}

console.log(`
  outlast demo: hello 1.0.0 from a local update feed (examples/demo/feed),
  with 1.1.0 and a deliberately broken 1.2.0 waiting in it. Once it is up,
  in another terminal:

    npm run outlast -- status                  # what runs, and the last update
    npm run outlast -- apply 1.1.0 --wait      # 1.0.0 -> 1.1.0, health-gated
    npm run outlast -- apply 1.2.0 --wait      # crashes on start: rolled back
    npm run outlast -- status                  # 1.1.0 serving, 1.2.0 marked bad
    curl -s http://127.0.0.1:8080/             # the version that serves
`);
