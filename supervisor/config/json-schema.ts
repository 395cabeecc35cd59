/**
 * The JSON Schema of the config file, derived from the zod schema so the two
 * cannot drift: `npm run schema` writes it to schema/outlast.schema.json, and
 * a test fails when the committed file differs from a fresh generation.
 */
import { z } from 'zod';
import { configSchema } from './schema.ts';

/** The config's JSON Schema as the file is written: optional keys may be missing (zod's input side). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    ...generated,
    title: 'outlast config',
    description: 'The config file of outlast (outlast run --config FILE). Generated from supervisor/config/schema.ts by `npm run schema`.',
  };
}

/** The schema file's text: stable key order and a trailing newline, so a regeneration diff is empty. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
