// SuperviseDir's control FIFO reader (src/io/svdir.ts): an inotify watch plus non-blocking reads, the
// bytes handed over in order and at once; bytes written before the watch existed; every fd and the watch
// released by close(); and the net.Socket fallback when no watch can be added (inotify limits).
import { closeSync, constants as C, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tmpdir, waitFor } from '../helpers/index.js';

const failWatch = vi.hoisted(() => ({ on: false, calls: 0, threw: 0, real: undefined as unknown as typeof import('node:fs').watch }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  failWatch.real = fs.watch;
  return {
    ...fs,
    watch: (...args: Parameters<typeof fs.watch>) => {
      failWatch.calls++;
      if (failWatch.on) failWatch.threw++;
      if (failWatch.on) throw Object.assign(new Error('inotify_add_watch: no space left on device'), { code: 'ENOSPC' });
      return fs.watch(...args);
    },
  };
});

const { SuperviseDir } = await import('../../src/io/svdir.js');

/** What Debian's svc does: open O_WRONLY|O_NDELAY (fails at once without a reader), write, close. */
function svc(dir: string, letters: string): void {
  const fd = openSync(join(dir, 'supervise/control'), C.O_WRONLY | C.O_NONBLOCK);
  try {
    writeSync(fd, Buffer.from(letters, 'latin1'));
  } finally {
    closeSync(fd);
  }
}

function watchOnce(dir: string): void {
  failWatch.real(dir).close();
}

const fdCount = (): number => readdirSync('/proc/self/fd').length;

async function scenario(): Promise<void> {
  const dir = tmpdir('upkeep-svdir-');
  // libuv opens the loop's one inotify fd at the first watch and keeps it: open it before counting
  if (!failWatch.on) watchOnce(dir);
  const before = fdCount();
  const sv = new SuperviseDir(dir, 'svc');
  await sv.lock();
  const got: string[] = [];
  const errors: Error[] = [];
  sv.openControl(
    (b) => got.push(b.toString('latin1')),
    (e) => errors.push(e),
  );
  // written before anything could have read it: delivered by the first drain
  svc(dir, 'u');
  await waitFor(() => got.join('') === 'u', 'the early byte');
  svc(dir, 'dx');
  await waitFor(() => got.join('') === 'udx', 'svc -dx');
  // more than one read buffer's worth at once: every byte, in order
  const many = 'tk'.repeat(700);
  svc(dir, many);
  await waitFor(() => got.join('') === `udx${many}`, '1400 bytes');
  expect(errors).toEqual([]);
  sv.close();
  expect(fdCount()).toBe(before);
  // nobody reads any more: a writer is refused as by a dead supervise (ENXIO)
  expect(() => svc(dir, 'u')).toThrow(/ENXIO/);
}

describe('SuperviseDir control FIFO', () => {
  it('inotify watch: early bytes, svc writes, big writes in order; close() releases every fd', async () => {
    failWatch.on = false;
    const calls = failWatch.calls;
    await scenario();
    expect(failWatch.calls).toBe(calls + 1); // the FIFO's watch (the warm-up uses the real fs.watch)
  });

  it('without a watch (inotify limit reached) the FIFO is read through a Socket, with the same results', async () => {
    failWatch.on = true;
    try {
      await scenario();
      expect(failWatch.threw).toBe(1);
    } finally {
      failWatch.on = false;
    }
  });
});
