/**
 * Update hooks run the service's own code, so they get the service's
 * environment rules: a real supervisor, started with every variable that is
 * addressed to the supervisor alone, applies a real update whose install and
 * preflight hooks write down the environment they were given. Also: the old
 * top-level key `restart` still configures the self-restart, with one
 * warning at start-up.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SUPERVISOR_ONLY_ENV } from '../../supervisor/service/child-env.ts';
import { makeFeed } from '../support/feed.ts';
import { apply, finalState, startUpdating } from '../support/update-supervisor.ts';
import { api, cleanup, startCli, svcCommand, tempDir } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

/** A hook that writes its environment to <HOOK_ENV_DIR>/<name>-<version>.json, then does what `then` says. */
function recordingHook(name: string, then: string): string[] {
  const script = `import('node:fs').then((fs) => { fs.writeFileSync(process.env.HOOK_ENV_DIR + '/${name}-' + process.env.OUTLAST_VERSION + '.json', JSON.stringify(process.env)); ${then} });`;
  return [process.execPath, '-e', script];
}

describe('update hooks', () => {
  it('see none of the supervisor-only variables, and the service env as the child has it', async () => {
    const out = tempDir('outlast-hook-env-');
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }]);
    const supervisorOnly = Object.fromEntries([...SUPERVISOR_ONLY_ENV].map((key) => [key, `from-the-manager-${key}`]));
    // A real socket path nobody listens on: the supervisor's own sd_notify only warns.
    supervisorOnly.NOTIFY_SOCKET = join(out, 'no-such-notify.sock');
    const { cli, port } = await startUpdating(
      { type: 'dir', path: feed },
      {
        updates: {
          install: recordingHook('install', ''),
          // The preflight must still print the version it runs.
          preflight: recordingHook('preflight', "process.stdout.write(JSON.parse(fs.readFileSync('package.json', 'utf8')).version + '\\n');"),
        },
        env: { ...supervisorOnly, HOOK_ENV_DIR: out },
      },
    );
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status).toBe(202);
    expect((await finalState(cli, res.json.id as string)).state).toBe('committed');
    for (const hook of ['install', 'preflight']) {
      const path = join(out, `${hook}-1.1.0.json`);
      expect(existsSync(path), `${hook} hook ran`).toBe(true);
      const env = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
      for (const key of SUPERVISOR_ONLY_ENV) expect(env[key], `${hook} hook got ${key}`).toBeUndefined();
      // The service's own socket to report readiness on is for the service, not for a hook.
      expect(env.OUTLAST_NOTIFY_SOCKET, `${hook} hook got OUTLAST_NOTIFY_SOCKET`).toBeUndefined();
      // Inherited from the supervisor, service.env (PORT), the release and the state dir's marker, as the child gets them.
      expect(env).toMatchObject({ HOOK_ENV_DIR: out, PORT: String(port), OUTLAST_VERSION: '1.1.0', OUTLAST_STATE_DIR: cli.stateDir });
    }
  });
});

describe('the deprecated key "restart"', () => {
  it('still sets the self-restart strategy, and warns once at start-up', async () => {
    const dir = tempDir('outlast-alias-');
    const config = join(dir, 'outlast.json');
    writeFileSync(config, JSON.stringify({ name: 'svc', api: { port: 0 }, restart: { strategy: 'manager', force: true }, service: { command: svcCommand().slice(1) } }));
    const cli = startCli(['run', '--config', config]);
    await waitFor(async () => (await api(cli, 'GET', '/status')).json.service !== undefined, 'the supervisor answering');
    const logs = (): Array<Record<string, unknown>> => cli.logs();
    await waitFor(() => logs().some((l) => l.msg === 'platform detected'), 'the platform line');
    expect(logs().find((l) => l.msg === 'platform detected')).toMatchObject({ strategy: 'manager' });
    const warnings = logs().filter((l) => typeof l.deprecation === 'string');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/"restart" is deprecated: rename it to "selfRestart"/);
  });
});
