/**
 * config/validate-apart.ts with scripted children: the child's answer is
 * taken as it is (a config, or its error with code and details), and a
 * child that gives none (fails, hangs, prints something else) falls back to
 * validating in this process, which answers the same. The real child runs
 * in test/integration/exit-codes.test.ts (config errors through `outlast
 * run`) and resident.test.ts (no zod in a running supervisor).
 */
import { describe, expect, it } from 'vitest';
import { readAnswer, validateApart, validatorArgs } from '../../supervisor/config/validate-apart.ts';
import { OutlastError } from '../../supervisor/errors.ts';
import { residentReport } from '../../supervisor/resident.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';

const FLAGS = { config: '/srv/outlast.json' };
const FILE = JSON.stringify({ name: 'web', service: { command: ['node', 'server.js'] } });

function hostWithConfig(): FakeHost {
  const host = createFakeHost();
  host.files.set('/srv/outlast.json', { data: FILE, mode: 0o644 });
  return host;
}

/** Starts validateApart and answers as its child with `stdout` and `exit`. */
async function answered(host: FakeHost, stdout: string, exit: Parameters<FakeHost['children'][number]['exit']>[0]): Promise<ReturnType<typeof validateApart>> {
  const result = validateApart(host, FLAGS);
  await flush();
  const child = host.children.at(-1)!;
  child.stdout!.push(stdout);
  child.exit(exit);
  return result;
}

describe('validateApart', () => {
  it('runs validate-main with the flags as JSON, in the cwd, with the environment', async () => {
    const host = hostWithConfig();
    const config = { name: 'web', stateDir: '/srv/.outlast' };
    await expect(answered(host, `${JSON.stringify({ config })}\n`, { kind: 'exited', code: 0 })).resolves.toEqual(config);
    const child = host.children[0]!;
    expect(child.file).toBe('/usr/bin/node');
    expect(child.args).toEqual(validatorArgs(FLAGS));
    expect(child.args[0]).toMatch(/\/supervisor\/config\/validate-main\.(ts|js)$/);
    expect(JSON.parse(child.args[1]!)).toEqual(FLAGS);
    expect(child.options.cwd).toBe('/srv');
  });

  it("raises the child's error with its code, message and details", async () => {
    const host = hostWithConfig();
    const error = { code: 'CONFIG_INVALID', message: 'config file /srv/outlast.json: "service.command" is required', details: { path: '/srv/outlast.json' } };
    const err = await answered(host, JSON.stringify({ error }), { kind: 'exited', code: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutlastError);
    expect((err as OutlastError).code).toBe('CONFIG_INVALID');
    expect((err as OutlastError).message).toBe(error.message);
    expect((err as OutlastError).details).toEqual(error.details);
  });

  it.each([
    ['exits 1', 'Error: boom', { kind: 'exited', code: 1 }],
    ['is killed', '', { kind: 'signaled', signal: 'SIGKILL' }],
    ['prints no answer', 'hello', { kind: 'exited', code: 0 }],
    ['cannot start', '', { kind: 'spawn-failed', errno: 'EAGAIN', message: 'cannot start node' }],
  ] as const)('validates here when the child %s, and says so in the resident report', async (_what, stdout, exit) => {
    const host = hostWithConfig();
    const config = await answered(host, stdout, exit);
    expect(config.name).toBe('web');
    expect(config.service.command).toEqual(['node', 'server.js']);
    expect(residentReport(0).loaded).toContain('config validator');
  });

  it('kills the group of a child that does not answer in time, and validates here', async () => {
    const host = hostWithConfig();
    const result = validateApart(host, FLAGS);
    await flush();
    const child = host.children[0]!;
    await host.advance(10_000);
    expect(host.signals).toEqual([{ target: 'group', id: child.pid, signal: 'SIGKILL' }]);
    child.exit({ kind: 'signaled', signal: 'SIGKILL' });
    await expect(result).resolves.toMatchObject({ name: 'web' });
  });

  it('raises the in-process error when the child gave none', async () => {
    const host = createFakeHost();
    host.files.set('/srv/outlast.json', { data: '{"service": {}}', mode: 0o644 });
    const err = await answered(host, '', { kind: 'exited', code: 1 }).catch((e: unknown) => e);
    expect((err as OutlastError).code).toBe('CONFIG_INVALID');
    expect((err as OutlastError).message).toContain('"service.command"');
  });
});

describe('readAnswer', () => {
  it('takes a config or an error, nothing else', () => {
    expect(readAnswer('{"config": {"name": "a"}}')).toEqual({ config: { name: 'a' } });
    expect(readAnswer('{"error": {"code": "CONFIG_INVALID", "message": "m"}}')).toEqual({ error: { code: 'CONFIG_INVALID', message: 'm' } });
    for (const text of ['', 'null', '[]', '{"config": null}', '{"error": {"code": 1, "message": "m"}}', '{"error": {"code": "X"}}', 'not json']) expect(readAnswer(text)).toBeUndefined();
  });

  it('keeps an unknown error code from becoming a wrong one', async () => {
    const host = hostWithConfig();
    const err = await answered(host, JSON.stringify({ error: { code: 'NO_SUCH_CODE', message: 'm' } }), { kind: 'exited', code: 0 }).catch((e: unknown) => e);
    expect((err as OutlastError).code).toBe('INTERNAL');
  });
});
