// Deploy and rollback by symlink (the essay's model): the service's entry in the tree is a symlink to a
// versioned directory; deploying repoints it atomically (a new link renamed over the old one), and the
// previous target is kept as a dot-named link beside it, `.NAME.previous`, so rollback works after restarts
// too and the scan ignores it.
import { lstatSync, readlinkSync, renameSync, symlinkSync, unlinkSync, statSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FatalError } from '../core/errors.js';

export function previousLinkName(name: string): string {
  return `.${name}.previous`;
}

/** Atomically makes `path` a symlink to `target`: a temporary dot-named link beside it, renamed over it. */
export function repoint(path: string, target: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  symlinkSync(target, tmp);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}

function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

export interface DeployResult {
  from: string | undefined;
  to: string;
}

/**
 * Points tree entry NAME at TARGET, keeping the old target as `.NAME.previous`. TARGET must be a directory
 * with a `run` file. NAME must be a symlink already, or absent (a plain directory is never replaced).
 */
export function deploy(tree: string, name: string, target: string): DeployResult {
  const path = join(tree, name);
  const to = isAbsolute(target) ? target : resolve(target);
  try {
    if (!statSync(to).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    statSync(join(to, 'run'));
  } catch (e) {
    throw new FatalError(`unable to deploy ${to}`, e);
  }
  let from: string | undefined;
  try {
    const st = lstatSync(path);
    if (!st.isSymbolicLink()) {
      throw new FatalError(`unable to deploy ${name}: ${path} is not a symbolic link (make it one to deploy by symlink)`);
    }
    from = readlinkSync(path);
  } catch (e) {
    if (e instanceof FatalError) throw e;
    from = undefined; // a new service
  }
  if (from !== undefined && resolveTarget(tree, from) === realpathSync(to)) return { from, to };
  try {
    if (from !== undefined) repoint(join(tree, previousLinkName(name)), from);
    repoint(path, to);
  } catch (e) {
    throw new FatalError(`unable to repoint ${path}`, e);
  }
  return { from, to };
}

/** Swaps NAME back to its previous target (and keeps the one it leaves as the new previous). */
export function rollback(tree: string, name: string): DeployResult {
  const prevPath = join(tree, previousLinkName(name));
  const prev = linkTarget(prevPath);
  if (prev === undefined) throw new FatalError(`unable to roll back ${name}: no previous target (${prevPath} is missing)`);
  const path = join(tree, name);
  const cur = linkTarget(path);
  try {
    repoint(path, prev);
    if (cur !== undefined) repoint(prevPath, cur);
  } catch (e) {
    throw new FatalError(`unable to repoint ${path}`, e);
  }
  return { from: cur, to: prev };
}

function resolveTarget(tree: string, link: string): string {
  try {
    return realpathSync(resolve(tree, link));
  } catch {
    return resolve(tree, link);
  }
}
