// How commands that take a SERVICE find it: a path (anything with a '/'), or a NAME in the tree given by
// --dir, else $SVDIR, else /service. svc, svstat and svok keep daemontools' rule first (the argument is a
// directory relative to the current one) and look a bare name up in the tree only when no such directory
// exists here.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export const DEFAULT_TREE = '/service';

export function treeOf(dirOpt: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return dirOpt ?? (env.SVDIR || DEFAULT_TREE);
}

/** The tree and the name a SERVICE argument designates (for deploy and rollback). */
export function resolveService(arg: string, dirOpt: string | undefined, env: NodeJS.ProcessEnv = process.env): { tree: string; name: string } {
  const a = arg.replace(/\/+$/, '');
  if (a.includes('/')) {
    const abs = resolve(a);
    return { tree: dirname(abs), name: basename(abs) };
  }
  return { tree: treeOf(dirOpt, env), name: a };
}

/** A service directory argument of svc, svstat, svok: as given if it exists (daemontools), else looked up. */
export function serviceDirArg(arg: string, dirOpt: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (arg.includes('/') || arg === '' || existsSync(arg)) return arg;
  if (dirOpt === undefined && !env.SVDIR && !existsSync(DEFAULT_TREE)) return arg;
  const inTree = join(treeOf(dirOpt, env), arg);
  // a service added at run time (upkeep ctl add) has its generated directory under .upkeep/runtime/
  const runtime = join(treeOf(dirOpt, env), '.upkeep', 'runtime', arg);
  return !existsSync(inTree) && existsSync(runtime) ? runtime : inTree;
}

/** Takes a leading `--dir DIR` / `--dir=DIR` off a djb-style argument list. */
export function takeDirOption(args: string[]): { dir: string | undefined; rest: string[] } {
  const a = args[0];
  if (a === '--dir' && args.length >= 2) return { dir: args[1], rest: args.slice(2) };
  if (a !== undefined && a.startsWith('--dir=')) return { dir: a.slice(6), rest: args.slice(1) };
  return { dir: undefined, rest: args };
}

/** What `chdir(dir)` would check: `dir` exists and is a directory (throws the fs error, or ENOTDIR). */
export function checkChdir(dir: string): void {
  const st = statSync(dir);
  if (!st.isDirectory()) throw Object.assign(new Error(`not a directory: ${dir}`), { code: 'ENOTDIR' });
}
