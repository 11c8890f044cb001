// `upkeep links DIR`: symlinks named after the daemontools-compatible programs, pointing at upkeep,
// so that existing run scripts (`exec multilog t ./main`) run upkeep unchanged.
import { Command } from 'commander';
import { symlinkSync, unlinkSync, lstatSync, readlinkSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROGRAMS } from './registry.js';
import { usageOutput } from './command.js';
import { FatalError } from '../core/errors.js';

export async function main(args: string[]): Promise<number> {
  const cmd = new Command('upkeep links')
    .description('create links named after the daemontools-compatible programs in DIR, pointing at upkeep')
    .argument('<dir>', 'directory for the links (created if missing), e.g. /usr/local/bin')
    .option('-f, --force', 'replace existing files of those names')
    .option('-n, --dry-run', 'print what would be done')
    .addHelpText('after', `\nPrograms linked: ${linkNames().join(', ')}\n\nExample:\n  upkeep links /usr/local/bin   # then: exec multilog t ./main\n`)
    .configureOutput(usageOutput('upkeep links'))
    .exitOverride();
  cmd.action((dir: string, opts: { force?: boolean; dryRun?: boolean }) => makeLinks(dir, opts));
  await cmd.parseAsync(args, { from: 'user' });
  return 0;
}

export function linkNames(): string[] {
  return Object.keys(PROGRAMS).filter((n) => PROGRAMS[n]!.link).sort();
}

function makeLinks(dir: string, opts: { force?: boolean; dryRun?: boolean }): void {
  const target = resolve(fileURLToPath(new URL('../../bin/upkeep', import.meta.url)));
  if (!opts.dryRun) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new FatalError(`unable to create directory ${dir}`, e);
    }
  }
  for (const name of linkNames()) {
    const path = join(dir, name);
    let existing: string | undefined;
    try {
      const st = lstatSync(path);
      existing = st.isSymbolicLink() ? readlinkSync(path) : '(a file)';
    } catch {
      existing = undefined;
    }
    if (existing === target) {
      process.stdout.write(`${path} -> ${target} (already)\n`);
      continue;
    }
    if (existing !== undefined && !opts.force) {
      throw new FatalError(`unable to create link ${path}: file already exists (use --force to replace it)`);
    }
    process.stdout.write(`${path} -> ${target}\n`);
    if (opts.dryRun) continue;
    try {
      if (existing !== undefined) unlinkSync(path);
      symlinkSync(target, path);
    } catch (e) {
      throw new FatalError(`unable to create link ${path}`, e);
    }
  }
}
