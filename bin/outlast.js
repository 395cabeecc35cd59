#!/usr/bin/env node
// The tiny entry of outlast: it must stay free of heavy imports, so that
// whatever runs first in a new process runs within milliseconds.
//
// From a git checkout the TypeScript sources run directly (Node strips the
// types); an installed package runs the compiled dist/ build.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
const source = new URL('../supervisor/cli/main.ts', import.meta.url);
const built = new URL('../dist/supervisor/cli/main.js', import.meta.url);
const fromSource = existsSync(source);
// dist/ needs process.execve's Node (22.15); running .ts needs type stripping on by default (22.18).
const needed = fromSource ? [22, 18] : [22, 15];
if (major < needed[0] || (major === needed[0] && minor < needed[1])) {
  process.stderr.write(
    `outlast: needs Node >= ${needed.join('.')} ${fromSource ? 'to run from a checkout ' : ''}(this is ${process.version}).\n` +
      (fromSource ? 'In the repo, run it through npm scripts (npm start, npm run outlast --): they pin Node 24.\n' : ''),
  );
  process.exit(1);
}
const { cli } = await import((fromSource ? source : built).href);
await cli();
