// Placeholder until the tai64n program lands.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tai64n: fatal: not yet implemented\n');
  return 111;
}
