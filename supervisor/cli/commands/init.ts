/** `outlast init`: a commented starter config for the current directory. */
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { OutlastError } from '../../errors.ts';
import type { HostFs } from '../../host/host.ts';
import { guessCommand, renderStarter, starterName, type ProjectFacts } from '../../config/starter.ts';
import type { CliContext } from '../context.ts';

/** The schema file shipped with this outlast: three levels up from source, four from dist/. */
async function schemaFile(fs: HostFs): Promise<string | undefined> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../..', '../../../..']) {
    const candidate = resolve(here, up, 'schema/outlast.schema.json');
    if (await fs.exists(candidate)) return candidate;
  }
  return undefined;
}

/** How the written file refers to the schema: relative when it lies below the config (node_modules/outlast), else a file URL. */
async function schemaRef(fs: HostFs, configDir: string): Promise<string> {
  const file = await schemaFile(fs);
  if (file === undefined) return 'node_modules/outlast/schema/outlast.schema.json';
  const rel = relative(configDir, file);
  return rel.startsWith('..') || rel.startsWith(sep) ? pathToFileURL(file).href : rel.split(sep).join('/');
}

async function facts(fs: HostFs, dir: string, dirName: string): Promise<ProjectFacts> {
  let packageJson: ProjectFacts['packageJson'];
  if (await fs.exists(join(dir, 'package.json'))) {
    try {
      packageJson = JSON.parse(await fs.readFile(join(dir, 'package.json'))) as ProjectFacts['packageJson'];
    } catch (err) {
      throw new OutlastError('CONFIG_INVALID', `cannot read ${join(dir, 'package.json')}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { dirName, packageJson, python: { server: await fs.exists(join(dir, 'server.py')), main: await fs.exists(join(dir, 'main.py')) } };
}

/** Registers `outlast init`. */
export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('write a commented starter config (outlast.jsonc) for the current directory')
    .argument('[command...]', 'the service command, after -- (default: guessed from package.json, server.py or main.py)')
    .option('--file <path>', 'where to write it', 'outlast.jsonc')
    .option('--force', 'replace the file if it exists')
    .action(async (command: string[], flags: { file: string; force?: boolean }) => {
      const { host } = ctx;
      const path = resolve(host.cwd, flags.file);
      const dir = resolve(path, '..');
      const found = await facts(host.fs, host.cwd, host.cwd.split(sep).pop() ?? 'service');
      const guess = command.length > 0 ? { command, from: 'the command line' } : guessCommand(found);
      if (guess === undefined) {
        throw new OutlastError('BAD_REQUEST', `cannot guess the service command in ${host.cwd} (no package.json start script or "main", no server.py or main.py): give it after --, e.g. outlast init -- node server.js`);
      }
      const shown = relative(host.cwd, path) || path;
      const text = renderStarter({ name: starterName(found), guess, schema: await schemaRef(host.fs, dir), file: shown });
      if (flags.force === true) {
        await host.fs.writeFileAtomic(path, text, 0o644);
      } else {
        try {
          // Created exclusively: a file that appears between a check and the write is never replaced.
          await host.fs.writeDurable(path, text);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          throw new OutlastError('BAD_REQUEST', `${path} already exists: pass --force to replace it`, { cause: err });
        }
      }
      ctx.print(`wrote ${shown} (service: ${guess.command.join(' ')}, from ${guess.from})\nnext: outlast run --config ${shown}\n`);
    });
}
