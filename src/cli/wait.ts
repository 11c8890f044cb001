// `upkeep wait`: the commander definition; the work is in src/programs/wait.ts.
import { UsageError } from '../core/errors.js';
import { HELP, runWait, type Goal } from '../programs/wait.js';
import { upkeepCommand } from './command.js';

export { HELP };

const USAGE = 'upkeep wait [--dir DIR] SERVICE --up|--ready|--down [--timeout SECONDS]';

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep wait', HELP)
    .description('wait until a service is up, ready or down')
    .argument('<service>', 'a path, or a name in --dir, $SVDIR or /service')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('--up', 'wait until it runs')
    .option('--ready', 'wait until it said it is ready')
    .option('--down', 'wait until it does not run')
    .option('--timeout <seconds>', 'give up after this long (exit 1)')
    .action(async (service: string, o: { dir?: string; up?: boolean; ready?: boolean; down?: boolean; timeout?: string }) => {
      const goals = (['up', 'ready', 'down'] as Goal[]).filter((g) => o[g]);
      if (goals.length !== 1) throw new UsageError(USAGE);
      let timeoutMs: number | undefined;
      if (o.timeout !== undefined) {
        if (!/^\d+(\.\d+)?$/.test(o.timeout)) throw new UsageError(USAGE);
        timeoutMs = Math.round(Number(o.timeout) * 1000);
      }
      code = await runWait({ dir: o.dir, service, goal: goals[0]!, timeoutMs });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
