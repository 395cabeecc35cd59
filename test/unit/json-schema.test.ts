import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../supervisor/config/json-schema.ts';
import { stripJsonComments } from '../../supervisor/config/jsonc.ts';
import { parseConfig } from '../../supervisor/config/load.ts';
import { OutlastError } from '../../supervisor/errors.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('the JSON Schema of the config', () => {
  it('is committed as npm run schema generates it', () => {
    // On a difference: `npm run schema` and commit schema/outlast.schema.json.
    expect(readFileSync(join(ROOT, 'schema/outlast.schema.json'), 'utf8')).toBe(configJsonSchemaText());
  });

  it('describes the top-level keys, $schema among them, and nothing else', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; required: string[]; additionalProperties: unknown };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['$schema', 'name', 'service', 'api', 'updates']));
    expect(schema.required).toEqual(['service']);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('$schema in a config file', () => {
  it('is accepted at the top level', () => {
    const config = parseConfig({ $schema: './node_modules/outlast/schema/outlast.schema.json', service: { command: ['node', 'a.js'] } }, '/srv', 'test');
    expect(config.service.command).toEqual(['node', 'a.js']);
  });

  it('is the only $ key accepted, and only at the top', () => {
    for (const input of [{ $comment: 'x', service: { command: ['a'] } }, { service: { $schema: 'x', command: ['a'] } }]) {
      expect(() => parseConfig(input, '/srv', 'test')).toThrow(OutlastError);
    }
  });
});

describe('stripJsonComments', () => {
  it('blanks line and block comments and keeps strings that look like them', () => {
    const text = '{\n  // a comment\n  "url": "http://x/*y*/", /* block\n over lines */ "n": 1 // end\n}';
    const stripped = stripJsonComments(text);
    expect(JSON.parse(stripped)).toEqual({ url: 'http://x/*y*/', n: 1 });
    expect(stripped.length).toBe(text.length);
    expect(stripped.split('\n').length).toBe(text.split('\n').length);
  });

  it('keeps escaped quotes inside strings', () => {
    expect(JSON.parse(stripJsonComments('{"a": "say \\"//hi\\"" // c\n}'))).toEqual({ a: 'say "//hi"' });
  });
});
