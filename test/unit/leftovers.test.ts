// The run's leftover check finds a process by the run id in its environment,
// and only that one.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { processesOfRun, RUN_VAR } from '../support/global-setup.ts';
import { alive, waitFor } from '../support/wait.ts';

it('finds the processes that carry a run id, and not others', async () => {
  const id = `check-${process.pid}`;
  const marked = spawn('sleep', ['30'], { env: { ...process.env, [RUN_VAR]: id }, stdio: 'ignore' });
  const other = spawn('sleep', ['30'], { env: { ...process.env, [RUN_VAR]: `${id}-other` }, stdio: 'ignore' });
  try {
    await waitFor(() => processesOfRun(id).length > 0, 'the marked process to show', 5000);
    expect(processesOfRun(id)).toEqual([marked.pid]);
    // The run that runs this test is marked too, and its workers carry its id.
    expect(process.env[RUN_VAR]).toMatch(/^[0-9a-f]{8}$/);
  } finally {
    marked.kill('SIGKILL');
    other.kill('SIGKILL');
    await waitFor(() => !alive(marked.pid ?? 0) && !alive(other.pid ?? 0), 'both gone', 5000);
  }
});
