/**
 * `npm run help-text`: writes bin/help.txt, the top-level `outlast --help`
 * that bin/outlast.js prints without loading the CLI. Run it after changing a
 * command's name, arguments or description (a test compares the committed
 * file with the program's own help).
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { topLevelHelp } from '../supervisor/cli/help-text.ts';

const out = join(import.meta.dirname, '..', 'bin', 'help.txt');
writeFileSync(out, topLevelHelp());
console.log(`wrote ${relative(process.cwd(), out) || out}`);
