// `upkeep deploy`: the commander definition; the work is in src/programs/deploy.ts.
import { Command } from 'commander';
import { HELP, runDeploy } from '../programs/deploy.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep deploy')
    .description("repoint a service's symlink to a new target and restart it there (asks the running svscan)")
    .argument('<service>', 'a path, or a name in --dir, $SVDIR or /service')
    .argument('<target>', 'the new version: a directory with a run file')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'upkeep deploy: usage: ')) })
    .action(async (service: string, target: string, o: { dir?: string }) => {
      code = await runDeploy({ service, target, dir: o.dir });
    });
  cmd.helpInformation = () => HELP;
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
