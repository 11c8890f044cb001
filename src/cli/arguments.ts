// Option-value parsers shared by the commander programs.
import { InvalidArgumentError } from 'commander';

/** A whole number of lines, bytes, ...: digits only. */
export function count(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`not a count: ${v}`);
  return Number(v);
}
