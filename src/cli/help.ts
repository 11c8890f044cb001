// `upkeep help [PROGRAM]`: the list of programs, or one program's help.
// daemontools programs keep daemontools' syntax (every multilog argument is an action), so their help
// lives here and in the man pages rather than behind a --help flag.
import { Command } from 'commander';
import { PROGRAMS } from './registry.js';
import { usageOutput } from './command.js';
import { VERSION } from './version.js';

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const cmd = new Command('upkeep help')
    .description('show the list of programs, or the help of one program')
    .argument('[program]', 'a program name, e.g. multilog')
    .configureOutput(usageOutput('upkeep help'))
    .exitOverride()
    .action(async (program?: string) => {
      if (program === undefined) {
        process.stdout.write(overview());
        return;
      }
      const entry = Object.hasOwn(PROGRAMS, program) ? PROGRAMS[program] : undefined;
      if (!entry) {
        process.stderr.write(`upkeep help: fatal: unable to find program ${program}: no such program\n`);
        code = 100;
        return;
      }
      const mod = (await entry.load()) as { HELP?: string; main(a: string[]): Promise<number> };
      if (typeof mod.HELP === 'string') process.stdout.write(mod.HELP);
      else code = await mod.main(['--help']);
    });
  await cmd.parseAsync(args, { from: 'user' });
  return code;
}

export function overview(): string {
  const names = Object.keys(PROGRAMS).sort();
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${PROGRAMS[n]!.summary}`);
  return [
    `upkeep ${VERSION}: a logging-centric process supervisor in the daemontools tradition`,
    '',
    'usage: upkeep <program> [args...]',
    '       (or call a program through a link named after it: see upkeep links)',
    '',
    'programs:',
    ...lines,
    '',
    'upkeep help <program> shows one program\'s help; man upkeep-<program> has the details.',
    '',
  ].join('\n');
}
