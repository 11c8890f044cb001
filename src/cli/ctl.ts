// `upkeep ctl`: the commander definition; the work is in src/programs/ctl.ts.
import { Command } from 'commander';
import { HELP, runCtl } from '../programs/ctl.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep ctl')
    .description("send a command to the running svscan's command socket")
    .argument('<command...>', 'the command and its arguments (docs/commands.md)')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('--json', 'JSON replies')
    .passThroughOptions()
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'upkeep ctl: usage: ')) })
    .action(async (words: string[], o: { dir?: string; json?: boolean }) => {
      code = await runCtl({ dir: o.dir, json: o.json === true, words });
    });
  cmd.helpInformation = () => HELP;
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
