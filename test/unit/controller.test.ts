/**
 * The supervisor's restart and stop rules (Controller) and its two ways out
 * (Teardown), against the fake Host and a real Service.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { Controller } from '../../supervisor/controller.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import type { SelfRestarter } from '../../supervisor/restart/self-restart.ts';
import { Service } from '../../supervisor/service/service.ts';
import { Teardown } from '../../supervisor/teardown.ts';
import { createFakeHost, flush } from '../support/fake-host.ts';

type Restarter = Pick<SelfRestarter, 'choice' | 'restart'>;

function setup(restartExitCode: number | Error = 75): { controller: Controller; service: Service; stopping: { now: boolean }; restarts: string[] } {
  const host = createFakeHost();
  const logger = createLogger({ level: 'silent', sink: memorySink(), pid: host.pid });
  const config = parseConfig({ service: { command: ['app'], restart: { policy: 'never' } } }, '/srv', 'test');
  const service = new Service({ host, config: config.service, logger, stdout: memorySink(), stderr: memorySink() });
  const stopping = { now: false };
  const restarts: string[] = [];
  const selfRestarter: Restarter = {
    choice: () => Promise.resolve({ name: 'manager', reason: 'test' }),
    restart: (reason) => {
      restarts.push(reason);
      return restartExitCode instanceof Error ? Promise.reject(restartExitCode) : Promise.resolve({ exitCode: restartExitCode, strategy: 'manager' });
    },
  };
  const controller = new Controller({ host, logger, stateDir: '/state', drainMs: 1000, service, isStopping: () => stopping.now, selfRestarter });
  return { controller, service, stopping, restarts };
}

describe('Controller', () => {
  it('refuses a service restart the Service refuses, before answering', async () => {
    const { controller } = setup();
    // Never started: the Service is `stopped`.
    await expect(controller.restart('service')).rejects.toMatchObject({ code: 'CONFLICT', details: { state: 'stopped' } });
  });

  it('refuses restarts while a stop signal is stopping the supervisor', async () => {
    const { controller, service, stopping } = setup();
    service.start();
    stopping.now = true;
    await expect(controller.restart('service')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(controller.restart('supervisor')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(controller.stop('again')).resolves.toMatchObject({ alreadyStopping: true });
  });

  it('holds the self-restart under way: a second restart and a stop are refused, and the exit code ends the run', async () => {
    const { controller, restarts } = setup(75);
    const answer = await controller.restart('supervisor');
    expect(answer.strategy).toBe('manager');
    answer.after?.();
    expect(controller.isSelfRestarting()).toBe(true);
    await expect(controller.restart('service')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(controller.stop('x')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(controller.selfRestarted).resolves.toBe(75);
    expect(restarts).toEqual(['requested through the API']);
  });

  it('stays up and restartable when the self-restart fails', async () => {
    const { controller } = setup(new Error('no strategy'));
    (await controller.restart('supervisor')).after?.();
    await flush();
    expect(controller.isSelfRestarting()).toBe(false);
  });
});

describe('Teardown', () => {
  it('runs each step once, in order, on the ways out it belongs to', async () => {
    const ran: string[] = [];
    const teardown = new Teardown();
    teardown.add('at-exit', () => ran.push('notify'));
    teardown.add('always', () => ran.push('signals'));
    teardown.add('before-restart', () => ran.push('service'));
    teardown.add('always', () => {
      ran.push('api');
      throw new Error('close failed');
    });
    teardown.add('always', () => ran.push('info'));
    await expect(teardown.beforeRestart()).rejects.toThrow('close failed');
    expect(ran).toEqual(['signals', 'service', 'api', 'info']);
    await teardown.atExit();
    expect(ran).toEqual(['signals', 'service', 'api', 'info', 'notify']);
  });
});
