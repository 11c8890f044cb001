// Placeholder until the multilog program lands.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('multilog: fatal: not yet implemented\n');
  return 111;
}
