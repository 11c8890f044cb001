// Many flocks with one helper process: svscan takes 2 locks per service (its supervise/lock and its
// logger's) and the shared logger one per log directory, and a Node `spawn` per lock costs several ms
// (33 s to start 1000 services). Same locks as io/flock.ts (util-linux `flock -n` on our own open file
// description, so they exclude daemontools' supervise and multilog, and stay ours after the helper exits),
// but every file is opened here and handed to ONE `sh` as fds 3..N, which runs `flock -n` on each in turn
// and prints the fds it could not lock. Busy -> LockBusyError, exactly as lock() reports it.
import { spawn } from 'node:child_process';
import { closeSync, openSync, constants as C } from 'node:fs';
import { lock, LockBusyError } from './flock.js';

/** Files per helper; bigger batches are split and their helpers run side by side. */
export const LOCK_BATCH = 256;

// $1 = fds are 3..$1-1. Each failure prints "FD STATUS" (flock's status: 1 = busy, from -E 1).
const SCRIPT = 'i=3; while [ "$i" -lt "$1" ]; do flock -n -E 1 "$i" || echo "$i $?"; i=$((i+1)); done';

function openLockFile(path: string, mode: number): number {
  // append-create, as daemontools' open_append: O_WRONLY|O_NONBLOCK|O_APPEND|O_CREAT
  return openSync(path, C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT, mode);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

function helperError(status: number | null, path: string): Error {
  if (status === 1) return new LockBusyError(path);
  return Object.assign(new Error(`flock helper failed (status ${status}) on ${path}`), { code: 'EIO' });
}

/** One helper for up to LOCK_BATCH open files; resolves to one result per fd (the fd, or why not). */
function lockFds(fds: number[], paths: string[]): Promise<(number | Error)[]> {
  return new Promise((resolve) => {
    let out = '';
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      for (const fd of fds) closeQuietly(fd);
      resolve(fds.map(() => e));
    };
    let child;
    try {
      child = spawn('/bin/sh', ['-c', SCRIPT, 'sh', String(fds.length + 3)], { stdio: ['ignore', 'pipe', 'ignore', ...fds] });
    } catch (e) {
      fail(e as Error);
      return;
    }
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (s: string) => (out += s));
    child.once('error', fail);
    child.once('close', (code, signal) => {
      if (settled) return;
      if (code !== 0) {
        fail(Object.assign(new Error(`flock helper failed (${signal ?? `status ${code}`})`), { code: 'EIO' }));
        return;
      }
      settled = true;
      const res: (number | Error)[] = fds.slice();
      for (const line of out.split('\n')) {
        const m = /^(\d+) (\d+)$/.exec(line);
        if (!m) continue;
        const i = Number(m[1]) - 3;
        if (i < 0 || i >= fds.length) continue;
        closeQuietly(fds[i]!);
        res[i] = helperError(Number(m[2]), paths[i]!);
      }
      resolve(res);
    });
  });
}

/**
 * Takes an exclusive non-blocking flock on each path (created with `mode` if missing), with one helper per
 * LOCK_BATCH paths. Resolves to one entry per path, in order: the fd that holds the lock, or the error
 * (LockBusyError when someone else holds it; the open's own error, e.g. ENOENT). Never rejects.
 */
export async function lockMany(paths: readonly string[], mode = 0o600): Promise<(number | Error)[]> {
  const res: (number | Error)[] = new Array(paths.length);
  const open: number[] = [];
  const openPaths: string[] = [];
  const where: number[] = [];
  for (let i = 0; i < paths.length; i++) {
    try {
      open.push(openLockFile(paths[i]!, mode));
      openPaths.push(paths[i]!);
      where.push(i);
    } catch (e) {
      res[i] = e as Error;
    }
  }
  const jobs: Promise<void>[] = [];
  for (let k = 0; k < open.length; k += LOCK_BATCH) {
    const fds = open.slice(k, k + LOCK_BATCH);
    jobs.push(
      lockFds(fds, openPaths.slice(k, k + LOCK_BATCH)).then((r) => {
        for (let j = 0; j < r.length; j++) res[where[k + j]!] = r[j]!;
      }),
    );
  }
  await Promise.all(jobs);
  return res;
}

interface Pending {
  path: string;
  mode: number;
  resolve: (fd: number) => void;
  reject: (e: Error) => void;
}

/**
 * lock() with the requests of one turn of the event loop gathered into one lockMany (svscan's first scan
 * asks for thousands at once). Same results and errors as io/flock.ts lock(), as a promise.
 */
export function batchedLocker(): (path: string, mode?: number) => Promise<number> {
  let pending: Pending[] = [];
  return (path, mode = 0o600) =>
    new Promise<number>((resolve, reject) => {
      pending.push({ path, mode, resolve, reject });
      if (pending.length === 1) setImmediate(run);
    });
  function run(): void {
    const batch = pending;
    pending = [];
    // one lockMany per mode (every caller uses 0600; kept exact all the same)
    const modes = new Map<number, Pending[]>();
    for (const p of batch) {
      const list = modes.get(p.mode) ?? [];
      list.push(p);
      modes.set(p.mode, list);
    }
    for (const [mode, list] of modes) {
      if (list.length === 1) {
        // alone: the single helper of io/flock.ts (one process instead of sh + flock)
        const p = list[0]!;
        try {
          lock(p.path, mode).then(p.resolve, p.reject);
        } catch (e) {
          p.reject(e as Error);
        }
        continue;
      }
      void lockMany(
        list.map((p) => p.path),
        mode,
      ).then((r) => {
        for (let i = 0; i < list.length; i++) {
          const x = r[i]!;
          if (typeof x === 'number') list[i]!.resolve(x);
          else list[i]!.reject(x);
        }
      });
    }
  }
}

/** The process's shared batched locker (SuperviseDir, the shared logger's log directories). */
export const lockBatched = batchedLocker();
