// `upkeep report`: the commander definition; the work is in src/programs/report.ts.
import { Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { HELP, runReport } from '../programs/report.js';
import { upkeepCommand } from './command.js';

export { HELP };

const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} needs a number, not ${JSON.stringify(v)}`);
  return n;
};

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = upkeepCommand('upkeep report', HELP)
    .description('flapping and failure reports from the restart journal')
    .argument('[inputs...]', 'service trees, journal files, or - for stdin')
    .option('--dir <dir>', 'the service tree (default $SVDIR, else /service)')
    .option('--since <time>', 'start of the window (docs/time.md)')
    .option('--until <time>', 'end of the window (docs/time.md)')
    .option('--utc', 'show times in UTC')
    .option('--service <name>', 'only this service (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to a file')
    .option('-n, --lines <n>', 'lines of crash context per death', num('--lines'))
    .option('--logdir-pattern <pattern>', 'where a service log is: {dir}, {service}, {host}')
    .option('--burst-deaths <n>', 'burst rule: deaths', num('--burst-deaths'))
    .option('--burst-within <seconds>', 'burst rule: within seconds', num('--burst-within'))
    .option('--burst-quiet <seconds>', 'burst rule: ends when up this long', num('--burst-quiet'))
    .option('--flap-window <seconds>', 'weighted rule: window length', num('--flap-window'))
    .option('--flap-high <percent>', 'weighted rule: start threshold', num('--flap-high'))
    .option('--flap-low <percent>', 'weighted rule: end threshold', num('--flap-low'))
    .option('--restart-window <seconds>', 'bucket for restarts per window', num('--restart-window'))
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (inputs: string[], o: Record<string, unknown>) => {
      code = await runReport({
        inputs,
        dir: o.dir as string | undefined,
        since: o.since as string | undefined,
        until: o.until as string | undefined,
        utc: o.utc === true,
        services: o.service as string[],
        format: o.format as string,
        output: o.output as string | undefined,
        lines: o.lines as number | undefined,
        logdirPattern: o.logdirPattern as string | undefined,
        burstDeaths: o.burstDeaths as number | undefined,
        burstWithin: o.burstWithin as number | undefined,
        burstQuiet: o.burstQuiet as number | undefined,
        flapWindow: o.flapWindow as number | undefined,
        flapHigh: o.flapHigh as number | undefined,
        flapLow: o.flapLow as number | undefined,
        restartWindow: o.restartWindow as number | undefined,
        progress: o.progress as boolean,
      });
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}
