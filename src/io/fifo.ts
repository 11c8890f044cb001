// FIFOs from Node, which has no mkfifo(2): coreutils' mkfifo makes them. One mkfifo process per call, so a
// caller creating many FIFOs at once (svscan at start-up: control and ok of every service, every log pipe)
// passes them all to mkfifosSync: one process instead of one per FIFO.
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';

function isFifo(path: string): boolean {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
}

/** Creates a FIFO at `path` with `mode` unless a FIFO is already there. */
export function mkfifoSync(path: string, mode = 0o600): void {
  if (isFifo(path)) return;
  run([path], mode, path);
}

/**
 * Creates every FIFO of `paths` that is not one already, with ONE mkfifo process. Best effort for the
 * batch: paths that could not be made are left to a later mkfifoSync (which reports the error).
 */
export function mkfifosSync(paths: readonly string[], mode = 0o600): void {
  const todo = paths.filter((p) => !isFifo(p));
  if (todo.length === 0) return;
  try {
    run(todo, mode, todo[0]!);
  } catch {
    /* each caller's own mkfifoSync reports its path's error */
  }
}

function run(paths: string[], mode: number, first: string): void {
  const r = spawnSync('mkfifo', ['-m', mode.toString(8), '--', ...paths], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const text = r.stderr.toString();
    const code = /exists/i.test(text) ? 'EEXIST' : /denied/i.test(text) ? 'EACCES' : /No such file/i.test(text) ? 'ENOENT' : 'EIO';
    throw Object.assign(new Error(`mkfifo ${first}: ${text.trim()}`), { code });
  }
}
