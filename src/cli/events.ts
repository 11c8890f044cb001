// `upkeep events`: the commander definition; the work is in src/programs/events.ts.
import { HELP, runEvents } from '../programs/events.js';
import { upkeepCommand } from './command.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep events', HELP)
    .description("print the running svscan's state and supervision events")
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('-f, --follow', 'keep printing events')
    .option('--json', 'JSON lines')
    .action(async (o: { dir?: string; follow?: boolean; json?: boolean }) => {
      code = await runEvents({ dir: o.dir, follow: o.follow === true, json: o.json === true });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
