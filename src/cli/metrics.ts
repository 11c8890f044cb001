// `upkeep metrics`: commander definition; the work is in programs/metrics.ts.
import { upkeepCommand } from './command.js';
import { HELP, metrics } from '../programs/metrics.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep metrics', HELP)
    .description('service state in Prometheus text format (node_exporter textfile collector)')
    .argument('[dir]', 'the service tree (default $SVDIR, else /service)')
    .option('-o, --output <file>', 'write FILE atomically instead of stdout')
    .option('--service <name>', 'only this service (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--dir <dir>', 'the service tree')
    .action(async (dir: string | undefined, opts: { output?: string; service: string[]; dir?: string }) => {
      code = await metrics({ dir: dir ?? opts.dir, output: opts.output, service: opts.service });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
