// The API token file: generated owner-only, and refused when it could be
// someone else's (readable by others, or a symlink to another file).
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { ensureToken } from '../../supervisor/state/state-dir.ts';

const host = createNodeHost(() => {
  throw new Error('exit in a test');
});
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outlast-token-'));
  dirs.push(dir);
  return dir;
}

describe('ensureToken', () => {
  it('generates an owner-only token on first start and reads it back', async () => {
    const dir = stateDir();
    const token = await ensureToken(host, dir);
    expect(token).toMatch(/^\S{16,}$/);
    expect(readFileSync(join(dir, 'token'), 'utf8').trim()).toBe(token);
    expect(await ensureToken(host, dir)).toBe(token);
  });

  it('refuses a token that is a symlink, even to an owner-only file', async () => {
    const dir = stateDir();
    const elsewhere = join(dir, 'elsewhere');
    writeFileSync(elsewhere, 'a-token-planted-by-someone-else\n');
    chmodSync(elsewhere, 0o600);
    symlinkSync(elsewhere, join(dir, 'token'));
    await expect(ensureToken(host, dir)).rejects.toMatchObject({ code: 'STATE_DIR_UNUSABLE', message: expect.stringMatching(/is a symlink/) as unknown as string });
  });

  it('refuses a token others can read', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'token'), 'abcdefghijklmnopqrstuvwxyz\n');
    chmodSync(join(dir, 'token'), 0o644);
    await expect(ensureToken(host, dir)).rejects.toMatchObject({ code: 'STATE_DIR_UNUSABLE' });
  });
});
