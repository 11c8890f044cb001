// What upkeep's commander programs share: the help option, errors as exit codes instead of process.exit,
// commander's usage errors as "<program>: usage: ...", help from the program's HELP text; and option parsers.
import { Command, InvalidArgumentError } from 'commander';

export function upkeepCommand(name: string, help: string): Command {
  const cmd = new Command(name)
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput(usageOutput(name));
  cmd.helpInformation = () => help;
  return cmd;
}

/** commander's errors ("error: ...") as "<program>: usage: ...", for programs that set up their own help. */
export function usageOutput(name: string): { writeErr: (s: string) => void } {
  return { writeErr: (s) => void process.stderr.write(s.replace(/^error: /, `${name}: usage: `)) };
}

/** A whole number of lines, bytes, ...: digits only. */
export function count(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`not a count: ${v}`);
  return Number(v);
}
