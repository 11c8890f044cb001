// `upkeep rollback`: the commander definition; the work is in src/programs/deploy.ts.
import { Command } from 'commander';
import { HELP, runDeploy } from '../programs/deploy.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep rollback')
    .description('swap a service back to its previous target (asks the running svscan)')
    .argument('<service>', 'a path, or a name in --dir, $SVDIR or /service')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'upkeep rollback: usage: ')) })
    .action(async (service: string, o: { dir?: string }) => {
      code = await runDeploy({ service, dir: o.dir });
    });
  cmd.helpInformation = () => HELP;
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
