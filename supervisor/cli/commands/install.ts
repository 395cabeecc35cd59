/** `outlast install systemd|termux|docker`: the platform's native files, to stdout or to --output. */
import { dirname, join, resolve } from 'node:path';
import { Argument, type Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { OutlastError } from '../../errors.ts';
import { generateDocker } from '../../install/docker.ts';
import { generateKubernetes } from '../../install/kubernetes.ts';
import { generateNomad } from '../../install/nomad.ts';
import { installInput, type Generated, type InstallInput } from '../../install/input.ts';
import { outlastEntry } from '../../install/paths.ts';
import { generateSystemdUnit } from '../../install/systemd-unit.ts';
import { generateTermux } from '../../install/termux.ts';
import { VERSION } from '../../version.ts';
import type { CliContext } from '../context.ts';

const GENERATORS: Record<string, (input: InstallInput, config: Config) => Generated> = {
  systemd: generateSystemdUnit,
  termux: (input) => generateTermux(input),
  docker: generateDocker,
  kubernetes: (input, config) => generateKubernetes(input, { updates: config.updates !== undefined }),
  nomad: generateNomad,
};

interface InstallFlags {
  config?: string;
  output?: string;
  user?: boolean;
  userName?: string;
  node?: string;
}

/** The account a system unit runs as: --user-name, else whoever ran sudo, else the installing user. */
function installingUser(env: Readonly<Record<string, string | undefined>>, flag: string | undefined): string | undefined {
  return flag ?? env.SUDO_USER ?? env.USER ?? env.LOGNAME;
}

/**
 * The node the unit runs: --node, else this process's own. A node inside
 * node_modules is a dev dependency (the checkout's pinned Node): it goes away
 * with `npm ci --omit=dev` or the next checkout, so it is refused unless named.
 */
function productionNode(execPath: string, flag: string | undefined, host: { cwd: string }): string {
  if (flag !== undefined) return resolve(host.cwd, flag);
  if (execPath.split('/').includes('node_modules')) {
    throw new OutlastError('BAD_REQUEST', `this outlast runs on ${execPath}, a node inside node_modules (a dev dependency); name the node the installed service should run with --node PATH (e.g. --node /usr/bin/node)`);
  }
  return execPath;
}

/** Registers `outlast install`. */
export function registerInstall(program: Command, ctx: CliContext): void {
  program
    .command('install')
    .description("generate the platform's native files (a systemd unit, a Termux service and boot script, Docker, Kubernetes and Nomad snippets)")
    .addArgument(new Argument('<platform>', 'where outlast will run').choices(Object.keys(GENERATORS)))
    .option('-c, --config <file>', 'the JSON config the installed outlast runs with (required)')
    .option('--user', 'systemd: a user unit (systemctl --user) rather than a system one')
    .option('--user-name <name>', 'systemd: the account a system unit runs as (User=; default: the installing user)')
    .option('--node <path>', 'the node binary the installed outlast runs on (default: this one, unless it is a dev dependency)')
    .option('-o, --output <dir>', 'write the files into this dir instead of printing them')
    .action(async (platform: string, flags: InstallFlags) => {
      if (flags.config === undefined) {
        throw new OutlastError('BAD_REQUEST', `outlast install ${platform} needs --config FILE: the installed outlast runs \`outlast run --config FILE\``);
      }
      const { host } = ctx;
      const configPath = resolve(host.cwd, flags.config);
      // The installed outlast runs in the config's dir (WorkingDirectory=, `cd` in the run script),
      // so a default state dir must resolve there, not in the installing shell's cwd.
      const config = await loadConfig(host.fs, dirname(configPath), { config: configPath });
      const input = installInput(config, {
        // An absolute node: a unit has no nvm or PATH lookup.
        node: platform === 'systemd' ? productionNode(host.invocation.execPath, flags.node, host) : flags.node ?? host.invocation.execPath,
        entry: outlastEntry(),
        configPath,
        path: undefined,
        user: flags.user === true,
        runAs: installingUser(host.env, flags.userName),
        version: VERSION,
      });
      const generated = GENERATORS[platform]!(input, config);
      if (flags.output === undefined) {
        for (const file of generated.files) ctx.print(`# ==> ${file.path} <==\n${file.content}\n`);
        ctx.printError(generated.notes.map((note) => `outlast: ${note}\n`).join(''));
        return;
      }
      const dir = resolve(host.cwd, flags.output);
      for (const file of generated.files) {
        const path = join(dir, file.path);
        await host.fs.mkdir(dirname(path));
        await host.fs.writeFileAtomic(path, file.content, file.mode);
        ctx.print(`wrote ${path}\n`);
      }
      ctx.print(generated.notes.map((note) => `  ${note}\n`).join(''));
    });
}
