// flock(2) from Node, which has no API for it: open the lock file ourselves and let util-linux's
// `flock -n 3` take the lock on our open file description. The lock belongs to that description, so it
// stays ours for as long as we keep the fd open, after the helper has exited. Same flavour (flock, not
// fcntl) as daemontools' supervise and multilog, so we exclude each other.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, constants as C } from 'node:fs';

export class LockBusyError extends Error {
  readonly code = 'EAGAIN';
  constructor(path: string) {
    super(`lock held: ${path}`);
  }
}

function openLockFile(path: string, mode: number): number {
  // append-create, as daemontools' open_append: O_WRONLY|O_NONBLOCK|O_APPEND|O_CREAT
  return openSync(path, C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT, mode);
}

function helperFailure(status: number | null, error: Error | undefined, path: string, fd: number): Error {
  closeSync(fd);
  if (error) return error;
  if (status === 1) return new LockBusyError(path);
  return Object.assign(new Error(`flock helper failed (status ${status}) on ${path}`), { code: 'EIO' });
}

/** Takes an exclusive non-blocking flock on `path` (created 0600 if missing); returns the fd that holds it. */
export function lockSync(path: string, mode = 0o600): number {
  const fd = openLockFile(path, mode);
  const r = spawnSync('flock', ['-n', '-E', '1', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
  if (r.status === 0) return fd;
  throw helperFailure(r.status, r.error, path, fd);
}

/** Same as lockSync without stalling the event loop (for a running supervisor). */
export function lock(path: string, mode = 0o600): Promise<number> {
  const fd = openLockFile(path, mode);
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['-n', '-E', '1', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    child.once('error', (e) => reject(helperFailure(null, e, path, fd)));
    child.once('exit', (status) => (status === 0 ? resolve(fd) : reject(helperFailure(status, undefined, path, fd))));
  });
}
