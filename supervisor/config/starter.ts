/**
 * The starter config `outlast init` writes: the service command guessed from
 * the directory, rendered as commented JSONC (the loader strips comments) in
 * which every commented line is valid once uncommented.
 */
import { basename } from 'node:path';

/** What init learned about a directory. */
export interface ProjectFacts {
  /** The directory's name. */
  dirName: string;
  /** package.json as parsed, when there is one. */
  packageJson?: { name?: unknown; main?: unknown; scripts?: { start?: unknown } } | undefined;
  /** Which of the Python entry points exist. */
  python: { server: boolean; main: boolean };
}

/** A guessed (or given) service command and where it came from. */
export interface CommandGuess {
  command: string[];
  from: string;
}

// Characters that make a start script a shell program rather than one command.
const SHELL = /[|&;<>()$`\\"'*?[\]{}~=]/;

/** The service command for a directory, or undefined when nothing says. */
export function guessCommand(facts: ProjectFacts): CommandGuess | undefined {
  const pkg = facts.packageJson;
  const start = pkg?.scripts?.start;
  if (typeof start === 'string' && start.trim() !== '') {
    // One plain command runs directly, so signals reach the service itself;
    // a shell program goes through npm, which forwards SIGTERM to it.
    if (!SHELL.test(start)) return { command: start.trim().split(/\s+/), from: "package.json's start script" };
    return { command: ['npm', 'start'], from: "package.json's start script (run through npm: it is a shell command line)" };
  }
  if (typeof pkg?.main === 'string' && pkg.main !== '') return { command: ['node', pkg.main], from: 'package.json\'s "main"' };
  if (facts.python.server) return { command: ['python3', 'server.py'], from: 'server.py' };
  if (facts.python.main) return { command: ['python3', 'main.py'], from: 'main.py' };
  return undefined;
}

/** A valid config name from a package or directory name ("@scope/my app" -> "my-app"). */
export function starterName(facts: ProjectFacts): string {
  const raw = typeof facts.packageJson?.name === 'string' ? basename(facts.packageJson.name) : facts.dirName;
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return cleaned === '' ? 'service' : cleaned;
}

/** The text of the starter config. */
export function renderStarter(options: { name: string; guess: CommandGuess; schema: string; file: string }): string {
  const q = (v: unknown): string => JSON.stringify(v);
  return `// outlast config for ${options.name}. Start it with: outlast run --config ${options.file}
// Comments are allowed. "$schema" lets editors complete and check every key.
{
  "$schema": ${q(options.schema)},
  "name": ${q(options.name)},
  "service": {
    // Started in this directory. Guessed from ${options.guess.from}.
    "command": [${options.guess.command.map(q).join(", ")}],
    // Extra environment for the service (outlast's own is passed on too).
    "env": {},
    // Ready and healthy when this answers 2xx/3xx (or use "tcp": { "port": 8080 }).
    // "health": { "url": "http://127.0.0.1:8080/health" },
    // The drain budget: time between SIGTERM and SIGKILL.
    "stopTimeoutMs": 10000
  },
  // Self-updates from a release feed made with \`outlast release pack\`:
  // "updates": { "source": { "type": "dir", "path": "feed" }, "range": "^1" },
  // The control API of outlast status, apply and restart; port 0 picks a free one.
  "api": { "host": "127.0.0.1", "port": 7070 }
}
`;
}
