// `upkeep rollback`: the commander definition; the work is in src/programs/deploy.ts.
import { HELP, runDeploy } from '../programs/deploy.js';
import { upkeepCommand } from './command.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep rollback', HELP)
    .description('swap a service back to its previous target (asks the running svscan)')
    .argument('<service>', 'a path, or a name in --dir, $SVDIR or /service')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .action(async (service: string, o: { dir?: string }) => {
      code = await runDeploy({ service, dir: o.dir });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
