// Real flocks: the single-lock helper (io/flock.ts) and the batched one (io/flock-batch.ts) take the same
// lock flavour as Debian's daemontools (setlock, supervise, multilog), on our own open file description,
// and report a busy lock the same way.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, readlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lock, LockBusyError } from '../../src/io/flock.js';
import { batchedLocker, LOCK_BATCH, lockMany } from '../../src/io/flock-batch.js';
import { itWithPeer, tmpdir, waitFor } from '../helpers/index.js';

/** Is `path` flocked by someone? (util-linux flock opens its own description: it fails while we hold it) */
function heldElsewhere(path: string): boolean {
  return spawnSync('flock', ['-n', '-E', '7', path, 'true']).status === 7;
}

/** Paths our own process has open. */
function openPaths(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the directory's own fd */
    }
  }
  return out;
}

const holders: ReturnType<typeof spawn>[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
  for (const fd of fds.splice(0)) closeSync(fd);
});

/** Debian's setlock holds `path` (flock, as supervise and multilog do) until killed. */
async function holdWithSetlock(path: string): Promise<void> {
  const h = spawn('setlock', [path, 'sleep', '100'], { stdio: 'ignore' });
  holders.push(h);
  await waitFor(() => heldElsewhere(path), `setlock to hold ${path}`);
}

describe('lockMany', () => {
  it('locks every path with one helper; the locks stay ours after it exits, and go with the fds', async () => {
    const dir = tmpdir();
    const paths = ['a', 'b', 'c'].map((n) => join(dir, n));
    const r = await lockMany(paths);
    expect(r.every((x) => typeof x === 'number')).toBe(true);
    for (const p of paths) expect(heldElsewhere(p)).toBe(true);
    for (const fd of r as number[]) closeSync(fd);
    for (const p of paths) expect(heldElsewhere(p)).toBe(false);
  });

  itWithPeer(['setlock'])('reports a lock held by daemontools as busy, in place, and locks the others', async () => {
    const dir = tmpdir();
    const paths = ['one', 'busy', 'three'].map((n) => join(dir, n));
    await holdWithSetlock(paths[1]!);
    const r = await lockMany(paths);
    expect(typeof r[0]).toBe('number');
    expect(typeof r[2]).toBe('number');
    fds.push(r[0] as number, r[2] as number);
    expect(r[1]).toBeInstanceOf(LockBusyError);
    expect((r[1] as LockBusyError).code).toBe('EAGAIN');
    // the same error as the single-lock helper
    let single: unknown;
    try {
      await lock(paths[1]!);
    } catch (e) {
      single = e;
    }
    expect((r[1] as Error).message).toBe((single as Error).message);
    // the busy file is not left open
    expect(openPaths().filter((p) => p === paths[1])).toEqual([]);
    expect(heldElsewhere(paths[0]!)).toBe(true);
  });

  it('fails where the file cannot be opened, with the open error, and still locks the rest', async () => {
    const dir = tmpdir();
    const r = await lockMany([join(dir, 'ok'), join(dir, 'missing-dir', 'lock')]);
    expect(typeof r[0]).toBe('number');
    fds.push(r[0] as number);
    expect((r[1] as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  itWithPeer(['setlock'])('keeps the order over several helpers (more than one batch)', async () => {
    const dir = tmpdir();
    const n = LOCK_BATCH + 40;
    const paths = Array.from({ length: n }, (_, i) => join(dir, `l${i}`));
    const busy = LOCK_BATCH + 7;
    await holdWithSetlock(paths[busy]!);
    const r = await lockMany(paths);
    r.forEach((x, i) => {
      if (i === busy) expect(x).toBeInstanceOf(LockBusyError);
      else {
        expect(typeof x).toBe('number');
        fds.push(x as number);
      }
    });
    expect(heldElsewhere(paths[0]!)).toBe(true);
    expect(heldElsewhere(paths[n - 1]!)).toBe(true);
  });
});

describe('batchedLocker', () => {
  itWithPeer(['setlock'])('gathers the requests of one turn into one helper; each settles as lock() would', async () => {
    const dir = tmpdir();
    const take = batchedLocker();
    await holdWithSetlock(join(dir, 'busy'));
    const names = ['x', 'y', 'busy', 'z'];
    const r = await Promise.allSettled(names.map((n) => take(join(dir, n))));
    names.forEach((n, i) => {
      const x = r[i]!;
      if (n === 'busy') {
        expect(x.status).toBe('rejected');
        expect((x as PromiseRejectedResult).reason).toBeInstanceOf(LockBusyError);
      } else {
        expect(x.status).toBe('fulfilled');
        fds.push((x as PromiseFulfilledResult<number>).value);
        expect(heldElsewhere(join(dir, n))).toBe(true);
      }
    });
  });

  it('a lone request uses the single helper and rejects an unopenable path', async () => {
    const dir = tmpdir();
    const take = batchedLocker();
    const fd = await take(join(dir, 'alone'));
    fds.push(fd);
    expect(heldElsewhere(join(dir, 'alone'))).toBe(true);
    await expect(take(join(dir, 'no', 'such'))).rejects.toMatchObject({ code: 'ENOENT' });
    // a second take of a lock we hold: flock locks belong to the description, so our own second open is busy
    await expect(take(join(dir, 'alone'))).rejects.toBeInstanceOf(LockBusyError);
  });
});
