// `upkeep export`: commander definition; the work is in programs/export.ts.
import { Option } from 'commander';
import { count, upkeepCommand } from './command.js';
import { HELP, exportLogs } from '../programs/export.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep export', HELP)
    .description('ship log lines to collectors: syslog (UDP, TCP), JSON lines over HTTP, OTLP/HTTP')
    .argument('[target...]', 'SERVICE names or LOGDIR paths')
    .requiredOption('--to <destination>', 'udp://, tcp://, http(s):// or otlp+http(s)://')
    .option('-f, --follow', 'keep shipping new lines')
    .option('--cursor-file <file>', 'resume after the last line shipped')
    .option('-n, --lines <N>', 'start with the newest N lines', count)
    .option('--since <time>', 'lines at or after TIME (docs/time.md)')
    .option('--until <time>', 'lines at or before TIME')
    .option('-g, --grep <regex>', 'lines whose message matches REGEX')
    .option('--service <name>', 'only this service (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .addOption(new Option('--tai <convention>', 'label convention').choices(['daemontools', 's6']).default('daemontools'))
    .option('--batch <N>', 'lines per batch', count, 500)
    .option('--facility <name>', 'syslog facility', 'daemon')
    .option('--severity <name>', 'syslog severity', 'info')
    .option('--host <name>', 'host name sent')
    .option('--stats <seconds>', 'statistics period (0: only at exit)', count)
    .option('--retry-max <seconds>', 'longest wait between retries', count, 30)
    .option('--dir <dir>', 'service directory (default $SVDIR, else /service)')
    .option('--log-path <path>', "a service's log directory inside it", 'log/main')
    .option('--journal', 'also the restart journal DIR/.upkeep/journal.jsonl')
    .action(async (targets: string[], opts: Record<string, unknown>) => {
      code = await exportLogs({ ...(opts as object), targets } as Parameters<typeof exportLogs>[0]);
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
