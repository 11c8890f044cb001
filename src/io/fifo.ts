// FIFOs from Node, which has no mkfifo(2): coreutils' mkfifo makes them.
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';

/** Creates a FIFO at `path` with `mode` unless a FIFO is already there. */
export function mkfifoSync(path: string, mode = 0o600): void {
  try {
    if (lstatSync(path).isFIFO()) return;
  } catch {
    /* missing: create it */
  }
  const r = spawnSync('mkfifo', ['-m', mode.toString(8), '--', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const text = r.stderr.toString();
    const code = /exists/i.test(text) ? 'EEXIST' : /denied/i.test(text) ? 'EACCES' : /No such file/i.test(text) ? 'ENOENT' : 'EIO';
    throw Object.assign(new Error(`mkfifo ${path}: ${text.trim()}`), { code });
  }
}
