// The log directory rules of multilog, pure: where a write to `current` may cut, when `current` is full,
// which old file retention deletes, and what start-up recovery does. src/io/logdir.ts executes them.

const NL = 10;
/** A file may end at a line boundary once it holds this many bytes less than the size limit. */
export const ROTATE_WINDOW = 2000;

/**
 * How many bytes of data[from, to) the next write to `current` takes (multilog's c_write): at most up to
 * `size`; and once the write reaches into the last 2000 bytes, only up to the last newline in it (if any).
 * The caller rotates first when `bytes >= size` (the only cut inside a line).
 */
export function writeStep(bytes: number, size: number, data: Uint8Array, from: number, to: number): number {
  let len = to - from;
  if (bytes + len >= size) len = size - bytes;
  if (bytes + len >= size - ROTATE_WINDOW) {
    const nl = data.lastIndexOf(NL, from + len - 1);
    if (nl >= from) len = nl + 1 - from;
  }
  return len;
}

/** After a write whose last byte was `lastByte`, is `current` (now `bytes` long) finished? */
export function fullAfterWrite(bytes: number, size: number, lastByte: number): boolean {
  return bytes >= size - ROTATE_WINDOW && lastByte === NL;
}

/** Before writing: a stretch without newline filled `current` exactly. */
export function fullBeforeWrite(bytes: number, size: number): boolean {
  return bytes >= size;
}

const AT = 64;
const NAME_PREFIX = 25;
const Z_SENTINEL = new Uint8Array([AT, 122]); // "@z": djb's initial "oldest"

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function startsWith(name: Uint8Array, prefix: Uint8Array): boolean {
  if (name.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (name[i] !== prefix[i]) return false;
  return true;
}

/**
 * One step of multilog's retention (finish() in multilog.c): among the names starting with "@" that are at
 * least 25 bytes long (any such entry counts, even foreign ones), if there are `num` or more, returns the index
 * of the entry to delete: the first (in directory order) whose name starts with the smallest 25-byte prefix
 * below "@z", or with "@z" itself when there is none. Returns -1 when nothing is to be deleted (count < num,
 * or no entry starts with the chosen prefix: the real multilog would spin forever there; we stop).
 */
export function retentionVictim(names: readonly Uint8Array[], num: number): number {
  let count = 0;
  let oldest: Uint8Array = Z_SENTINEL;
  for (const n of names) {
    if (n.length >= NAME_PREFIX && n[0] === AT) {
      count++;
      if (compareBytes(n, oldest) < 0) oldest = n.subarray(0, NAME_PREFIX);
    }
  }
  if (count < num) return -1;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (n.length >= NAME_PREFIX && n[0] === AT && startsWith(n, oldest)) return i;
  }
  return -1;
}

/** What start-up does with a log directory whose `current` was not closed cleanly. */
export type RecoveryStep =
  | { op: 'unlink'; file: 'state' | 'newstate' | 'previous' | 'processed' }
  | { op: 'finish'; file: 'processed' | 'previous' | 'current'; code: 's' | 'u' }
  | { op: 'create-state' }
  | { op: 'create-current' };

/**
 * multilog's restart(): with `current` present and user-executable (cleanly closed) nothing is touched and
 * `current` is reopened (returns null). Otherwise: drop state/newstate; a complete `processed` (u+x) becomes
 * an `.s` file and `previous` goes, else `processed` goes and `previous` becomes `.u`; then `current` becomes
 * `.u` (even empty); then an empty `state` and a new `current`. Finishing a missing file does nothing.
 */
export function recoveryPlan(current: { exists: boolean; userExec: boolean }, processedUserExec: boolean): RecoveryStep[] | null {
  if (current.exists && current.userExec) return null;
  const steps: RecoveryStep[] = [
    { op: 'unlink', file: 'state' },
    { op: 'unlink', file: 'newstate' },
  ];
  if (processedUserExec) steps.push({ op: 'unlink', file: 'previous' }, { op: 'finish', file: 'processed', code: 's' });
  else steps.push({ op: 'unlink', file: 'processed' }, { op: 'finish', file: 'previous', code: 'u' });
  steps.push({ op: 'finish', file: 'current', code: 'u' }, { op: 'create-state' }, { op: 'create-current' });
  return steps;
}

/**
 * The `%total` cap: given the archives (names starting with "@", at least 25 bytes: those retention
 * counts) with their sizes, returns the names to delete, oldest first (archive names sort by time), so that
 * the rest add up to at most `cap` bytes. The newest archive is always kept, even alone above the cap: a
 * cap never deletes the file that was just finished.
 */
export function capVictims(archives: readonly { name: string; size: number }[], cap: number): string[] {
  const sorted = archives.filter((a) => a.name.length >= NAME_PREFIX && a.name.charCodeAt(0) === AT).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let total = 0;
  for (const a of sorted) total += a.size;
  const out: string[] = [];
  for (let i = 0; i < sorted.length - 1 && total > cap; i++) {
    out.push(sorted[i]!.name);
    total -= sorted[i]!.size;
  }
  return out;
}
