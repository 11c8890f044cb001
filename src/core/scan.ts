// What a scan of the service tree changes, pure. Services are identified by their NAME in the tree (not by
// inode, unlike daemontools' svscan), so repointing a symlink keeps the service, its pipe and its logger and
// only restarts it into the new target. An entry must be missing for `missAfter` scans in a row before its
// service is stopped, so that a non-atomic `ln -sfn` (unlink, then symlink) never stops a service.

/** One valid entry found by a scan: a directory (or a link to one) whose name does not start with '.'. */
export interface ScanEntry {
  readonly name: string;
  /** The real path the entry leads to. */
  readonly target: string;
}

export interface Known {
  readonly target: string;
  /** Consecutive scans in which the entry was missing (0 when it was seen last time). */
  readonly missing: number;
}

export type ScanAction =
  | { readonly kind: 'add'; readonly name: string; readonly target: string }
  | { readonly kind: 'retarget'; readonly name: string; readonly from: string; readonly to: string }
  | { readonly kind: 'missing'; readonly name: string; readonly scans: number }
  | { readonly kind: 'remove'; readonly name: string };

export const DEFAULT_MISS_AFTER = 2;

/** Whether a directory entry's name can be a service at all (dot names are ignored, as svscan does). */
export function isServiceName(name: string): boolean {
  return name.length > 0 && !name.startsWith('.') && !name.includes('/');
}

export function reconcile(
  known: ReadonlyMap<string, Known>,
  seen: readonly ScanEntry[],
  missAfter: number = DEFAULT_MISS_AFTER,
): { next: Map<string, Known>; actions: ScanAction[] } {
  const next = new Map<string, Known>();
  const actions: ScanAction[] = [];
  const seenNames = new Set<string>();
  for (const e of seen) {
    if (!isServiceName(e.name) || seenNames.has(e.name)) continue;
    seenNames.add(e.name);
    const k = known.get(e.name);
    if (k === undefined) actions.push({ kind: 'add', name: e.name, target: e.target });
    else if (k.target !== e.target) actions.push({ kind: 'retarget', name: e.name, from: k.target, to: e.target });
    next.set(e.name, { target: e.target, missing: 0 });
  }
  for (const [name, k] of known) {
    if (seenNames.has(name)) continue;
    const scans = k.missing + 1;
    if (scans >= missAfter) {
      actions.push({ kind: 'remove', name });
    } else {
      actions.push({ kind: 'missing', name, scans });
      next.set(name, { target: k.target, missing: scans });
    }
  }
  return { next, actions };
}
