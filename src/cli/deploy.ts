// `upkeep deploy`: the commander definition; the work is in src/programs/deploy.ts.
import { HELP, runDeploy } from '../programs/deploy.js';
import { upkeepCommand } from './command.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep deploy', HELP)
    .description("repoint a service's symlink to a new target and restart it there (asks the running svscan)")
    .argument('<service>', 'a path, or a name in --dir, $SVDIR or /service')
    .argument('<target>', 'the new version: a directory with a run file')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .action(async (service: string, target: string, o: { dir?: string }) => {
      code = await runDeploy({ service, target, dir: o.dir });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
