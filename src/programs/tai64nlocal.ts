// Placeholder until the tai64nlocal program lands.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tai64nlocal: fatal: not yet implemented\n');
  return 111;
}
