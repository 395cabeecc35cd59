#!/usr/bin/env node
// The tiny entry of outlast. Its first statements write the `first-line`
// restart-window marker, before any heavy import: if this process is killed
// while Node loads the rest (Android kills fresh processes within
// milliseconds), `outlast why` can tell "never ran a line" from "died while
// starting". So this file stays plain JavaScript with node:fs only.
//
// From a git checkout the TypeScript sources run directly (Node strips the
// types); an installed package runs the compiled dist/ build.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import module from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';

function flag(argv, name) {
  const i = argv.indexOf(name);
  if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
  const inline = argv.find((a) => a.startsWith(`${name}=`));
  return inline === undefined ? undefined : inline.slice(name.length + 1);
}

/** The state dir `outlast run` will use, found without loading the CLI. */
function stateDirOf(argv) {
  const end = argv.indexOf('--');
  const own = end < 0 ? argv : argv.slice(0, end);
  const explicit = flag(own, '--state-dir');
  if (explicit !== undefined) return resolve(explicit);
  const config = flag(own, '--config') ?? flag(own, '-c');
  if (config !== undefined) {
    try {
      const stateDir = JSON.parse(readFileSync(config, 'utf8')).stateDir;
      if (typeof stateDir === 'string') return isAbsolute(stateDir) ? stateDir : resolve(dirname(resolve(config)), stateDir);
    } catch {
      // The CLI will report a bad config properly.
    }
  }
  return resolve('.outlast');
}

function firstLineMarker(argv) {
  if (argv[0] !== 'run') return;
  try {
    const dir = process.env.OUTLAST_MARKER_DIR ?? join(stateDirOf(argv), 'markers');
    if (!existsSync(dir)) return;
    const atMs = Date.now();
    // Not toISOString: that loads ICU's time zone data (supervisor/iso-time.ts).
    const at = new Date(atMs);
    const two = (n) => String(n).padStart(2, '0');
    const iso = `${at.getUTCFullYear()}-${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())}T${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}.${String(at.getUTCMilliseconds()).padStart(3, '0')}Z`;
    const marker = { kind: 'first-line', at: iso, atMs, pid: process.pid, ppid: process.ppid, restartId: process.env.OUTLAST_RESTART_ID ?? null };
    const fd = openSync(join(dir, `${atMs}-${process.pid}-first-line-${Math.random().toString(36).slice(2, 6)}.json`), 'wx', 0o644);
    writeSync(fd, `${JSON.stringify(marker)}\n`);
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Forensics must never be what stops a start.
  }
}

firstLineMarker(process.argv.slice(2));

// `outlast --version` answers from here, before the CLI and its dependencies
// load: about the cost of `node -e 0` instead of 5 times it.
const only = process.argv.length === 3 ? process.argv[2] : undefined;
if (only === '--version' || only === '-v') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}
// So does the top-level help: bin/help.txt is commander's own text for the
// program (`npm run help-text` writes it; a test compares the two).
if (only === '--help' || only === '-h') {
  process.stdout.write(readFileSync(new URL('./help.txt', import.meta.url), 'utf8'));
  process.exit(0);
}

const [major, minor] = process.versions.node.split('.').map(Number);
// `outlast run` has an entry of its own, without commander and the other
// commands: the supervisor keeps whatever it loads for as long as it lives.
const entry = process.argv[2] === 'run' ? 'run-main' : 'main';
const source = new URL(`../supervisor/cli/${entry}.ts`, import.meta.url);
const built = new URL(`../dist/supervisor/cli/${entry}.js`, import.meta.url);
const fromSource = existsSync(source);
// dist/ needs process.execve's Node (22.15); running .ts needs type stripping on by default (22.18).
const needed = fromSource ? [22, 18] : [22, 15];
if (major < needed[0] || (major === needed[0] && minor < needed[1])) {
  process.stderr.write(
    `outlast needs Node >= ${needed.join('.')} ${fromSource ? 'to run from a checkout ' : ''}(this is ${process.version}); on Termux: pkg install nodejs\n` +
      (fromSource ? 'In the repo on linux-x64, run it through npm scripts (npm start, npm run outlast --): they pin Node 24.\n' : ''),
  );
  process.exit(1);
}
// Cache compiled code (and, from a checkout, the type-stripped sources) on
// disk: a restart is a cold start, and on a phone every 100 ms is downtime.
module.enableCompileCache?.();
if (entry === 'run-main') {
  // Before the supervisor's modules load: once a compiler tier has run, its
  // pages of the node binary stay resident (supervisor/cli/interpreter-only.ts).
  const tiers = fromSource ? '../supervisor/cli/interpreter-only.ts' : '../dist/supervisor/cli/interpreter-only.js';
  const { keepToInterpreter } = await import(new URL(tiers, import.meta.url).href);
  keepToInterpreter(process.execArgv, process.env.NODE_OPTIONS);
  // What the supervisor loads is what it keeps: record every module from
  // here on, for `outlast doctor --json` (supervisor/resident.ts).
  const loaded = [];
  globalThis[Symbol.for('outlast.loadedModules')] = loaded;
  module.registerHooks?.({ load: (url, context, next) => (loaded.push(url), next(url, context)) });
}
// A plain `outlast status` is answered by a small module over node:http,
// without commander, zod or fetch; anything it does not answer (other flags,
// no supervisor, an API error) goes on to the full CLI.
const quick = process.argv[2] === 'status' ? await quickStatus() : undefined;
if (quick === undefined) {
  const { cli } = await import((fromSource ? source : built).href);
  await cli();
} else {
  process.stdout.write(quick);
}

async function quickStatus() {
  const path = fromSource ? '../supervisor/cli/quick-status.ts' : '../dist/supervisor/cli/quick-status.js';
  const { quickStatus: answer } = await import(new URL(path, import.meta.url).href);
  return answer(process.argv.slice(2), process.env, process.cwd());
}
