/**
 * parseManifest, checked by hand (no schema library in the update
 * pipeline): each problem names the key, the value found there and, inside
 * an entry, the version; unknown keys are kept; sha256 comes out lower
 * case. The sources' own tests (dir-source, http-source, rollout) cover the
 * same through a feed.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MINISIG_BYTES } from '../../supervisor/update/minisign.ts';
import { parseManifest } from '../../supervisor/update/sources/manifest.ts';
import { refusal } from '../support/refusal.ts';

const SHA = 'AbCdEf0123456789'.repeat(4);
const entry = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ version, url: `app-${version}.tgz`, sha256: SHA, size: 10, ...extra });

/** The problems parseManifest names for `manifest`. */
function problems(manifest: unknown): string[] {
  const err = refusal(() => parseManifest(JSON.stringify(manifest), 'feed/manifest.json'));
  expect(err.code).toBe('SOURCE_UNAVAILABLE');
  expect(err.message).toMatch(/^invalid manifest at feed\/manifest\.json: /);
  return (err.details as { problems: string[] }).problems;
}

describe('parseManifest', () => {
  it('keeps unknown keys, at the top and in entries, and lower-cases sha256', () => {
    const manifest = parseManifest(JSON.stringify({ serial: 3, expires: '2027-01-31T00:00:00Z', format: 2, versions: [entry('1.0.0', { notes: 'first' })] }), 'feed');
    expect(manifest).toEqual({ serial: 3, expires: '2027-01-31T00:00:00Z', format: 2, versions: [{ ...entry('1.0.0', { notes: 'first' }), sha256: SHA.toLowerCase() }] });
  });

  it('takes optional signatures, a minisig up to its cap and a rollout', () => {
    const minisig = 'x'.repeat(MAX_MINISIG_BYTES);
    const manifest = parseManifest(JSON.stringify({ versions: [entry('1.0.0', { signature: 'c2ln', minisig, rollout: { percent: 0, salt: 's', note: 'kept' } })] }), 'feed');
    expect(manifest.versions[0]).toMatchObject({ signature: 'c2ln', minisig, rollout: { percent: 0, salt: 's', note: 'kept' } });
  });

  it.each([
    [[], '"(root)" must be a JSON object {"versions": [...]} (got [])'],
    [{}, '"versions" is required'],
    [{ versions: {} }, '"versions" must be an array (got {})'],
    [{ serial: -1, versions: [] }, '"serial" must be a whole number, 0 or more (got -1)'],
    [{ serial: 1.5, versions: [] }, '"serial" must be a whole number, 0 or more (got 1.5)'],
    [{ expires: '2027-01-31', versions: [] }, '"expires" must be an ISO 8601 date and time with a zone, such as 2027-01-31T00:00:00Z (got "2027-01-31")'],
    [{ expires: '2027-01-31T00:00:00', versions: [] }, '"expires" must be an ISO 8601 date and time with a zone, such as 2027-01-31T00:00:00Z (got "2027-01-31T00:00:00")'],
    [{ expires: '2027-13-45T00:00:00Z', versions: [] }, '"expires" must be an ISO 8601 date and time with a zone, such as 2027-01-31T00:00:00Z (got "2027-13-45T00:00:00Z")'],
    [{ versions: ['1.0.0'] }, '"versions[0]" must be an object (got "1.0.0")'],
  ])('refuses %j', (manifest, problem) => {
    expect(problems(manifest)).toEqual([problem]);
  });

  it('accepts an expiry with a fraction or an offset, and a 29 February of a leap year', () => {
    for (const expires of ['2027-01-31T00:00:00.250+02:00', '2027-01-31T23:59:59-11:30', '2028-02-29T12:00:00Z']) expect(parseManifest(JSON.stringify({ expires, versions: [] }), 'feed').expires).toBe(expires);
  });

  it.each(['2027-02-29T00:00:00Z', '2027-02-30T00:00:00Z', '2027-04-31T00:00:00Z', '2027-01-31T24:00:00Z', '2027-01-31T00:60:00Z', '2027-01-31T00:00:60Z', '2027-01-31T00:00Z', '2027-01-31T00:00:00+24:00', '2027-00-10T00:00:00Z'])(
    'refuses the expiry %s, which Date.parse would take or roll on',
    (expires) => {
      expect(problems({ expires, versions: [] })).toEqual([`"expires" must be an ISO 8601 date and time with a zone, such as 2027-01-31T00:00:00Z (got "${expires}")`]);
    },
  );

  it('names every problem of an entry, prefixed with its version', () => {
    const found = problems({ versions: [entry('1.0.0'), { version: '1.1.0', url: '', sha256: 'abc', size: -1, signature: '', minisig: 'x'.repeat(MAX_MINISIG_BYTES + 1) }] });
    expect(found).toEqual([
      'version 1.1.0: "versions[1].url" must be a non-empty string (got "")',
      'version 1.1.0: "versions[1].sha256" must be 64 hex digits (got "abc")',
      'version 1.1.0: "versions[1].size" must be a whole number of bytes, 0 or more (got -1)',
      'version 1.1.0: "versions[1].signature" must be a non-empty string (got "")',
      expect.stringMatching(new RegExp(`^version 1\\.1\\.0: "versions\\[1\\]\\.minisig" must be at most ${MAX_MINISIG_BYTES} characters \\(got "x+\\.\\.\\.\\)$`)),
    ]);
  });

  it('names missing fields and a version that is not exact semver', () => {
    expect(problems({ versions: [{ version: 'v1.0.0' }] })).toEqual([
      'version v1.0.0: "versions[0].version" must be a semver version such as 1.2.3 (no "v") (got "v1.0.0")',
      'version v1.0.0: "versions[0].url" is required',
      'version v1.0.0: "versions[0].sha256" is required',
      'version v1.0.0: "versions[0].size" is required',
    ]);
    expect(problems({ versions: [{ url: 'a.tgz', sha256: SHA, size: 1 }] })).toEqual(['"versions[0].version" is required']);
  });

  it('refuses a version listed twice', () => {
    expect(problems({ versions: [entry('1.0.0'), entry('1.1.0'), entry('1.0.0')] })).toEqual(['version 1.0.0: "versions[2].version" is listed twice (got "1.0.0")']);
  });
});
