// The persistent log pipe: lines outlive the writer, the reader never sees EOF while the pipe is held,
// and reading it does not freeze the event loop.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogPipe } from '../../src/io/logpipe.js';

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

describe('createLogPipe', () => {
  it('keeps what a dead writer wrote for a reader that comes later, without EOF', async () => {
    const pipe = createLogPipe();
    try {
      // Two successive "services" write through the same write end and die.
      for (const word of ['first', 'second']) {
        const child = spawn('/bin/sh', ['-c', `echo ${word}; echo ${word}-err >&2`], {
          stdio: ['ignore', pipe.writeFd, pipe.writeFd],
        });
        expect(await exitOf(child)).toBe(0);
      }
      // A "logger" that starts only now reads everything, in order.
      const reader = new Socket({ fd: pipe.readFd, readable: true, writable: false });
      let got = '';
      let ended = false;
      reader.on('end', () => (ended = true));
      await new Promise<void>((resolve) =>
        reader.on('data', (b: Buffer) => {
          got += b.toString();
          if (got.split('\n').length > 4) resolve();
        }),
      );
      expect(got).toBe('first\nfirst-err\nsecond\nsecond-err\n');
      // The event loop is alive (timers fire) and no EOF arrived while the write end is held.
      await new Promise((r) => setTimeout(r, 20));
      expect(ended).toBe(false);
      reader.pause();
      reader.destroy();
    } finally {
      try {
        pipe.close();
      } catch {
        /* the socket may have closed the read fd */
      }
    }
  });

  it('hands the read end to successive child loggers: a restarted logger resumes where the last one stopped', async () => {
    const pipe = createLogPipe();
    try {
      const w = spawn('/bin/sh', ['-c', 'for i in 1 2 3; do echo line$i; done'], { stdio: ['ignore', pipe.writeFd, 'ignore'] });
      await exitOf(w);
      // The first logger reads exactly 6 bytes ("line1\n") and exits; the rest stays in the pipe.
      // (libuv makes a child's stdio blocking, so dd waits for data rather than seeing EAGAIN.)
      const l1 = spawn('dd', ['bs=6', 'count=1', 'status=none'], { stdio: [pipe.readFd, 'pipe', 'ignore'] });
      let out1 = '';
      l1.stdout!.on('data', (b: Buffer) => (out1 += b.toString()));
      expect(await exitOf(l1)).toBe(0);
      expect(out1).toBe('line1\n');
      const l2 = spawn('dd', ['bs=12', 'count=1', 'status=none'], { stdio: [pipe.readFd, 'pipe', 'ignore'] });
      let out2 = '';
      l2.stdout!.on('data', (b: Buffer) => (out2 += b.toString()));
      expect(await exitOf(l2)).toBe(0);
      expect(out2).toBe('line2\nline3\n');
    } finally {
      pipe.close();
    }
  });
});
