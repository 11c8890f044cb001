// `upkeep export`: commander definition; the work is in programs/export.ts.
export const HELP = 'usage: upkeep export (not yet implemented)\n';
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('upkeep export: fatal: not yet implemented\n');
  return 111;
}
