/** `outlast why`: the verdict on the last restart, from the markers on disk. */
import type { Command } from 'commander';
import { readMarkers } from '../../forensics/markers.ts';
import { explain, field } from '../../forensics/why.ts';
import { NAME_HELP, output, type CliContext } from '../context.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

/** Registers `outlast why`. */
export function registerWhy(program: Command, ctx: CliContext): void {
  addTargetOptions(program.command('why').description('explain how the last restart went, or how the last run died').argument('[name]', NAME_HELP))
    .option('--json', 'print the verdict and its evidence as JSON')
    .action(async (name: string | undefined, flags: TargetFlags & { json?: boolean }) => {
      const markers = await readMarkers(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      const verdict = explain(markers, (pid) => ctx.host.kill(pid, 0));
      const evidence = verdict.evidence.map((m) => `  ${m.at}  ${m.kind.padEnd(12)} pid ${m.pid}${m.kind === 'signal' ? ` ${field(m.signal)}` : ''}${m.strategy === undefined ? '' : ` (${field(m.strategy)})`}`);
      output(ctx, flags.json, verdict, `${verdict.code}: ${verdict.summary}\n${evidence.length === 0 ? '' : `evidence:\n${evidence.join('\n')}\n`}`);
    });
}
