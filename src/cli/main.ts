// `upkeep <program> [args]`, or any program by the name of a link to upkeep (argv[1]'s base name).
// Loads nothing but the chosen program: start-up time is part of the interface.
import { PROGRAMS } from './registry.js';
import { restoreRuntime, runOne } from './run-one.js';

export async function run(argv: string[]): Promise<void> {
  const invoked = baseName(process.env.UPKEEP_ARGV0 ?? argv[1] ?? 'upkeep');
  restoreRuntime();
  let name: string;
  let args: string[];
  if (invoked !== 'upkeep' && Object.hasOwn(PROGRAMS, invoked)) {
    name = invoked;
    args = argv.slice(2);
  } else {
    const first = argv[2];
    if (first === undefined || first === '-h' || first === '--help') {
      name = 'help';
      args = [];
    } else if (first === '-V' || first === '--version') {
      const { VERSION } = await import('./version.js');
      process.stdout.write(`${VERSION}\n`);
      return;
    } else if (Object.hasOwn(PROGRAMS, first)) {
      name = first;
      args = argv.slice(3);
    } else {
      process.stderr.write(`upkeep: fatal: unable to run ${first}: no such program (see upkeep help)\n`);
      process.exitCode = 100;
      return;
    }
  }
  const entry = PROGRAMS[name]!;
  await runOne(entry.style === 'upkeep' ? `upkeep ${name}` : name, entry.load, args);
}

function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
