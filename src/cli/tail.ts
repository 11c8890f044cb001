// `upkeep tail`: commander definition; the work is in programs/tail.ts.
// Start-up is part of `tail --since`'s speed (issue 5: its first line in under a tenth of the time
// `grep -c` takes to scan the archives), and loading commander costs ~11-15 ms, half of node's own
// start here: arguments of the plain forms below are read without it (quickOptions), with the same
// result as commander's (test/cli-tail.test.ts compares them); anything else goes to commander.
import { HELP, type TailOptions, tail } from '../programs/tail.js';

export { HELP };

export async function main(args: string[]): Promise<number> {
  const o = quickOptions(args) ?? (await commanderOptions(args));
  return o === null ? 0 : tail(o);
}

/** The options as commander parses them; null when commander printed help (nothing to run). */
export async function commanderOptions(args: string[]): Promise<TailOptions | null> {
  const { Option } = await import('commander');
  const { count, upkeepCommand } = await import('./command.js');
  let got: TailOptions | null = null;
  const cmd = upkeepCommand('upkeep tail', HELP)
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
    .action((targets: string[], opts: Record<string, unknown>) => {
      got = { ...(opts as object), targets } as TailOptions;
    });
  await cmd.parseAsync(args, { from: 'user' });
  return got;
}

const VALUED: Readonly<Record<string, keyof TailOptions>> = {
  '-n': 'lines',
  '--lines': 'lines',
  '--since': 'since',
  '--until': 'until',
  '-g': 'grep',
  '--grep': 'grep',
  '--service': 'service',
  '-o': 'output',
  '--output': 'output',
  '--tai': 'tai',
  '--host': 'host',
  '--cursor-file': 'cursorFile',
  '--dir': 'dir',
  '--log-path': 'logPath',
};
const FLAGS: Readonly<Record<string, keyof TailOptions>> = { '-f': 'follow', '--follow': 'follow', '--journal': 'journal' };
const CHOICES: Readonly<Record<string, readonly string[]>> = { output: ['short', 'iso', 'raw', 'json'], tai: ['daemontools', 's6'] };

/**
 * The options without commander, when every argument is a target (not starting with "-"), a flag, or an
 * option followed by a valid value that does not start with "-"; else null. Commander's defaults
 * included; a repeated option keeps its last value (--service adds up), as with commander.
 */
export function quickOptions(args: readonly string[]): TailOptions | null {
  const o: Record<string, unknown> = { service: [], output: 'short', tai: 'daemontools', logPath: 'log/main' };
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) {
      targets.push(a);
      continue;
    }
    if (Object.hasOwn(FLAGS, a)) {
      o[FLAGS[a]!] = true;
      continue;
    }
    if (!Object.hasOwn(VALUED, a)) return null;
    const key = VALUED[a]!;
    const v = args[++i];
    if (v === undefined || v.startsWith('-')) return null;
    if (key === 'lines') {
      if (!/^\d+$/.test(v)) return null;
      o.lines = Number(v);
    } else if (key === 'service') (o.service as string[]).push(v);
    else if (Object.hasOwn(CHOICES, key) && !CHOICES[key]!.includes(v)) return null;
    else o[key] = v;
  }
  return { ...o, targets } as TailOptions;
}
