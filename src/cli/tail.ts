// `upkeep tail`: commander definition; the work is in programs/tail.ts.
import { Command, Option } from 'commander';
import { count } from './command.js';
import { HELP, tail } from '../programs/tail.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep tail')
    .description('print services\' log lines merged by time; follow them; resume with a cursor')
    .argument('[target...]', 'SERVICE names or LOGDIR paths')
    .option('-n, --lines <N>', 'only the newest N lines', count)
    .option('-f, --follow', 'keep printing new lines, across rotations')
    .option('--since <time>', 'lines at or after TIME (docs/time.md)')
    .option('--until <time>', 'lines at or before TIME')
    .option('-g, --grep <regex>', 'lines whose message matches REGEX')
    .option('--service <name>', 'only this service (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['short', 'iso', 'raw', 'json']).default('short'))
    .addOption(new Option('--tai <convention>', 'label convention').choices(['daemontools', 's6']).default('daemontools'))
    .option('--host <name>', 'host name in json output')
    .option('--cursor-file <file>', 'resume after the last line given, and record it')
    .option('--dir <dir>', 'service directory (default $SVDIR, else /service)')
    .option('--log-path <path>', "a service's log directory inside it", 'log/main')
    .option('--journal', 'also the restart journal DIR/.upkeep/journal.jsonl')
    .helpOption('-h, --help')
    .configureHelp({ helpWidth: 100 })
    .exitOverride()
    .action(async (targets: string[], opts: Record<string, unknown>) => {
      code = await tail({ ...(opts as object), targets } as Parameters<typeof tail>[0]);
    });
  cmd.helpInformation = () => HELP;
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
