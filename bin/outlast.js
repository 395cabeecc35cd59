#!/usr/bin/env node
// The tiny entry of outlast: it must stay free of heavy imports, so that
// whatever runs first in a new process runs within milliseconds.
//
// From a git checkout the TypeScript sources run directly (Node >= 22.18
// strips types); an installed package runs the compiled dist/ build.
import { existsSync } from 'node:fs';

const source = new URL('../supervisor/cli/main.ts', import.meta.url);
const built = new URL('../dist/supervisor/cli/main.js', import.meta.url);
const entry = existsSync(source) ? source : built;
const { cli } = await import(entry.href);
await cli();
