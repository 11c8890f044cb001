// Runs one program: restores what starting through Node changed (runtime.ts), then the program's main,
// and turns what it throws into "<prog>: fatal: ..." and an exit code. Shared by `upkeep <program>`
// (main.ts) and the one-file bundles of short-lived programs (entry-tail.ts).
import { reportError } from './report-error.js';
import { restoreRuntime } from './runtime.js';

export interface ProgramModule {
  main(args: string[]): Promise<number>;
}

export async function runOne(label: string, load: () => Promise<ProgramModule>, args: string[]): Promise<void> {
  try {
    const mod = await load();
    process.exitCode = await mod.main(args);
  } catch (err) {
    process.exitCode = reportError(label, err);
  }
}

export { restoreRuntime };
