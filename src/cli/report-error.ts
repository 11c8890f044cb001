// One place that turns a thrown error into "<prog>: fatal: ..." and an exit code.
import { EXIT, FatalError, UsageError, describeError } from '../core/errors.js';

export function reportError(prog: string, err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`${prog}: usage: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof FatalError) {
    process.stderr.write(`${prog}: fatal: ${err.message}\n`);
    return err.exitCode;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return (err as { exitCode?: number }).exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  process.stderr.write(`${prog}: fatal: internal error: ${describeError(err)}\n`);
  if (process.env.UPKEEP_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return EXIT.INTERNAL;
}
