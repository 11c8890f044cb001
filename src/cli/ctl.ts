// `upkeep ctl`: the commander definition; the work is in src/programs/ctl.ts.
import { HELP, runCtl } from '../programs/ctl.js';
import { upkeepCommand } from './command.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep ctl', HELP)
    .description("send a command to the running svscan's command socket")
    .argument('<command...>', 'the command and its arguments (docs/commands.md)')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('--json', 'JSON replies')
    .passThroughOptions()
    .action(async (words: string[], o: { dir?: string; json?: boolean }) => {
      code = await runCtl({ dir: o.dir, json: o.json === true, words });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
