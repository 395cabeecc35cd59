/**
 * Every refusal that force overrides says how to force it: `--force` for the
 * CLI, and, where the refusal comes through the control API, the request
 * field `"force": true` beside it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitNotBusy } from '../../supervisor/update/busy.ts';
import { packRelease } from '../../supervisor/update/pack.ts';
import { selectVersion } from '../../supervisor/update/selection.ts';
import { createFakeHost } from '../support/fake-host.ts';
import { nodeHost } from '../support/node-host.ts';
import { cleanup, rejection, tempDir } from './helpers.ts';
import { refusal } from '../support/refusal.ts';

afterEach(cleanup);

const API_HINT = 'with --force (API: "force": true)';
const policy = { range: '*', prerelease: false };

describe('refusals of an update name both ways to force them', () => {
  it('a downgrade', () => {
    const err = refusal(() => selectVersion(['1.0.0', '2.0.0'], '2.0.0', { version: '1.0.0' }, policy, new Map()));
    expect(err.code).toBe('DOWNGRADE_REFUSED');
    expect(err.message).toBe(`1.0.0 is older than the running 2.0.0; to downgrade, apply it ${API_HINT}`);
  });

  it('a version marked bad', () => {
    const err = refusal(() => selectVersion(['1.0.0', '1.1.0'], '1.0.0', { version: '1.1.0' }, policy, new Map([['1.1.0', 'health gate failed']])));
    expect(err.code).toBe('VERSION_MARKED_BAD');
    expect(err.message).toBe(`version 1.1.0 was rolled back before (health gate failed); to try it again, apply it ${API_HINT}`);
  });

  it('a service that stays busy', async () => {
    const host = createFakeHost();
    host.net.httpRequest = () => Promise.resolve({ status: 200, headers: {}, body: '{"busy":2}' });
    const err = await rejection(waitNotBusy(host, { url: 'http://127.0.0.1:1/busy', maxWaitMs: 0, pollMs: 100 }), 'RESTART_BLOCKED');
    expect(err.message).toBe(`the service is not safe to restart after 0 ms: 2 operation(s) in progress; retry later, or apply ${API_HINT} to restart anyway`);
  });
});

describe('refusals of `release pack` name --force', () => {
  it('a version already in the feed, and a tarball already there', async () => {
    const dir = tempDir('outlast-project-');
    writeFileSync(join(dir, 'index.js'), 'console.log(1)');
    const feed = tempDir('outlast-feed-');
    await packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, name: 'app' });
    const inFeed = await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', feed, name: 'app' }), 'CONFLICT');
    expect(inFeed.message).toBe(`version 1.0.0 is already in ${join(feed, 'manifest.json')}; use --force to replace it`);
    const loose = await rejection(packRelease(nodeHost.fs, { dir, version: '1.0.0', out: feed, name: 'app' }), 'CONFLICT');
    expect(loose.message).toBe(`${join(feed, 'app-1.0.0.tgz')} already exists; use --force to replace it`);
  });
});
