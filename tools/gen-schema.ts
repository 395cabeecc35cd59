/**
 * `npm run schema`: writes schema/outlast.schema.json from the zod config
 * schema. Run it after changing supervisor/config/ (a test compares the
 * committed file with a fresh generation).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { configJsonSchemaText } from '../supervisor/config/json-schema.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'schema', 'outlast.schema.json');
mkdirSync(join(root, 'schema'), { recursive: true });
writeFileSync(out, configJsonSchemaText());
console.log(`wrote ${relative(process.cwd(), out) || out}`);
