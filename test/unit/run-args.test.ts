/** `outlast run`'s own flag parser (supervisor/cli/run-main.ts): what it takes, and what it leaves to commander. */
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../supervisor/cli/run-main.ts';

describe('parseRunArgs', () => {
  it('reads value options in both spellings, the banner, and the command after --', () => {
    expect(parseRunArgs(['-c', 'a.json', '--state-dir=/s', '--api-port', '0', '--banner', '--', 'node', '-e', 'x'])).toEqual({
      config: 'a.json',
      stateDir: '/s',
      apiPort: '0',
      banner: true,
      command: ['node', '-e', 'x'],
    });
  });

  it('takes a command given without --, and the last of a repeated option', () => {
    expect(parseRunArgs(['python', 'server.py', '--name', 'a', '--name', 'b'])).toEqual({ name: 'b', command: ['python', 'server.py'] });
  });

  it('leaves help, unknown options, --json and missing values to the full CLI', () => {
    for (const args of [['--help'], ['-h'], ['--json'], ['--config'], ['--config', '--name', 'x'], ['--banner=yes'], ['node', '-e', 'x']]) {
      expect(parseRunArgs(args), args.join(' ')).toBeUndefined();
    }
  });
});
