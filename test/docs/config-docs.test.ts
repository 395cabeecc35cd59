/**
 * The docs stay true: every key path of the zod config schema is documented
 * in docs/config.md (in backticks, as a heading or in a table's first column),
 * every key path a table there names exists, README.md stays a front door
 * (≤ 300 lines), and every relative link in README.md, docs/ and bench/
 * points at a file, and a heading, that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../../supervisor/config/schema.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Wrappers whose inner schema carries the keys. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = schema._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; out?: z.core.$ZodType };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unwrap(def.innerType!);
    case 'pipe':
      // A preprocess or transform: the keys are those of the side that is an object.
      return unwrap(def.in!._zod.def.type === 'transform' ? def.out! : def.in!);
    default:
      return schema;
  }
}

/**
 * Every key path under `schema`: objects give `a.b`, arrays of objects
 * `a[].b`, and the branches of a (discriminated) union are merged. Records,
 * scalars and arrays of scalars are leaves.
 */
export function keyPaths(schema: z.core.$ZodType, prefix = ''): string[] {
  const inner = unwrap(schema);
  const def = inner._zod.def as unknown as { type: string; shape?: Record<string, z.core.$ZodType>; options?: z.core.$ZodType[]; element?: z.core.$ZodType };
  if (def.type === 'object') {
    return Object.entries(def.shape!).flatMap(([key, value]) => {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const below = keyPaths(value, path);
      return below.length === 0 ? [path] : below;
    });
  }
  if (def.type === 'union') return [...new Set(def.options!.flatMap((option) => keyPaths(option, prefix)))];
  if (def.type === 'array' && unwrap(def.element!)._zod.def.type === 'object') return keyPaths(def.element!, `${prefix}[]`);
  return [];
}

/** Backticked names in headings and in the first cell of table rows, outside code fences; rows saying "deprecated" are kept apart. */
export function documentedKeys(markdown: string): { keys: Set<string>; deprecated: Set<string> } {
  const keys = new Set<string>();
  const deprecated = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    let place: string | undefined;
    if (/^#{1,6} /.test(line)) place = line;
    else if (line.startsWith('|')) place = line.split('|')[1];
    if (place === undefined) continue;
    for (const [, name] of place.matchAll(/`([^`]+)`/g)) {
      keys.add(name!);
      if (/deprecated/i.test(line)) deprecated.add(name!);
    }
  }
  return { keys, deprecated };
}

const CONFIG_DOC = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');

describe('docs/config.md documents the config schema', () => {
  const paths = keyPaths(configSchema);

  it('the schema walk finds the nested, union and array keys', () => {
    expect(paths).toEqual(expect.arrayContaining(['name', 'log.level', 'service.restart.maxCrashes', 'service.restart.backoff.jitter', 'service.health.tcp.port', 'service.listen[].port', 'updates.source.url', 'updates.source.manifest', 'updates.source.path', 'updates.healthGate.stableForMs', 'restart.strategy']));
    expect(paths).not.toContain('service.env.PORT');
    expect(paths.length).toBeGreaterThan(50);
  });

  it('every key path is documented', () => {
    const { keys } = documentedKeys(CONFIG_DOC);
    expect(paths.filter((path) => !keys.has(path))).toEqual([]);
  });

  it('a key missing from the docs is caught', () => {
    const without = CONFIG_DOC.split('\n').filter((line) => !line.startsWith('| `service.restart.windowMs`')).join('\n');
    const { keys } = documentedKeys(without);
    expect(paths.filter((path) => !keys.has(path))).toEqual(['service.restart.windowMs']);
  });

  it('every key path the doc names exists in the schema (deprecated aliases aside)', () => {
    const known = new Set(paths);
    // `service`, `service.listen`: the objects that hold the keys.
    const holders = new Set(paths.flatMap((p) => [...p.matchAll(/[.[]/g)].map((m) => p.slice(0, m.index))));
    const tops = new Set([...known, ...holders].map((p) => p.split(/[.[]/)[0]!));
    const { keys, deprecated } = documentedKeys(CONFIG_DOC);
    const keyLike = [...keys].filter((k) => /^[A-Za-z]+(\[\])?(\.[A-Za-z]+(\[\])?)*$/.test(k) && tops.has(k.split(/[.[]/)[0]!));
    expect(keyLike.filter((k) => !known.has(k) && !holders.has(k) && !deprecated.has(k))).toEqual([]);
  });
});

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), join(ROOT, 'bench/README.md'), ...docs];
}

/** Lines of a markdown file outside code fences. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** Link targets in a markdown file, outside code fences, split into file and #anchor; absolute URLs left out. */
export function links(markdown: string): Array<{ file: string; anchor: string | undefined }> {
  const found: Array<{ file: string; anchor: string | undefined }> = [];
  for (const line of prose(markdown)) {
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue;
      const hash = target!.indexOf('#');
      found.push(hash < 0 ? { file: target!, anchor: undefined } : { file: target!.slice(0, hash), anchor: target!.slice(hash + 1) });
    }
  }
  return found;
}

/** Relative link targets in a markdown file, without their #anchor. */
export function relativeLinks(markdown: string): string[] {
  return links(markdown).filter((l) => l.file !== '').map((l) => l.file);
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as "-". */
export function anchors(markdown: string): Set<string> {
  const slugs = prose(markdown).flatMap((line) => {
    const heading = /^#{1,6} (.*)$/.exec(line);
    return heading === null ? [] : [heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replaceAll(' ', '-')];
  });
  return new Set(slugs);
}

describe('README.md is a front door', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('is at most 300 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });

  it('names the two commands a newcomer runs', () => {
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});

describe('relative links point at files that exist', () => {
  it.each(markdownFiles().map((f) => [f.slice(ROOT.length + 1), f]))('%s', (_name, file) => {
    const found = relativeLinks(readFileSync(file, 'utf8'));
    expect(found.filter((link) => !existsSync(resolve(dirname(file), link)))).toEqual([]);
  });

  it.each(markdownFiles().map((f) => [f.slice(ROOT.length + 1), f]))('%s: every #anchor names a heading', (_name, file) => {
    const broken = links(readFileSync(file, 'utf8')).filter(({ file: target, anchor }) => {
      if (anchor === undefined || !target.endsWith('.md') && target !== '') return false;
      const path = target === '' ? file : resolve(dirname(file), target);
      return existsSync(path) && !anchors(readFileSync(path, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it('a broken link is caught', () => {
    const found = relativeLinks('see [x](docs/nope.md#a), [y](https://example.org), [z](#here)\n```\n[in](code.md)\n```\n');
    expect(found).toEqual(['docs/nope.md']);
    expect(existsSync(resolve(ROOT, found[0]!))).toBe(false);
  });

  it('anchors follow the headings', () => {
    const slugs = anchors('# A title\n## Zero-downtime handoff: `service.listen`\n```\n# not a heading\n```\n');
    expect([...slugs]).toEqual(['a-title', 'zero-downtime-handoff-servicelisten']);
  });
});
