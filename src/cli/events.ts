// `upkeep events`: the commander definition; the work is in src/programs/events.ts.
import { Command } from 'commander';
import { HELP, runEvents } from '../programs/events.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep events')
    .description("print the running svscan's state and supervision events")
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('-f, --follow', 'keep printing events')
    .option('--json', 'JSON lines')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'upkeep events: usage: ')) })
    .action(async (o: { dir?: string; follow?: boolean; json?: boolean }) => {
      code = await runEvents({ dir: o.dir, follow: o.follow === true, json: o.json === true });
    });
  cmd.helpInformation = () => HELP;
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
