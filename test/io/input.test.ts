// openInput: FIFOs read on the event loop (never parking a thread-pool thread), pause leaves bytes in the
// pipe, readByte takes exactly one byte, regular files read to the end.
import { closeSync, constants as C, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkfifoSync } from '../../src/io/fifo.js';
import { openInput, type Input } from '../../src/io/input.js';
import { tmpdir, waitFor } from '../helpers/index.js';

function fifo(dir: string, name: string): { r: number; w: number } {
  const p = join(dir, name);
  mkfifoSync(p);
  const r = openSync(p, C.O_RDONLY | C.O_NONBLOCK);
  const w = openSync(p, C.O_WRONLY);
  return { r, w };
}

function collect(fd: number): { input: Input; data: () => string; ended: () => boolean } {
  const chunks: Buffer[] = [];
  let ended = false;
  const input = openInput(fd, { data: (b) => void chunks.push(Buffer.from(b)), end: () => (ended = true) });
  return { input, data: () => Buffer.concat(chunks).toString('latin1'), ended: () => ended };
}

describe('openInput', () => {
  it('reads a FIFO, sees its end when the writer closes', async () => {
    const { r, w } = fifo(tmpdir(), 'f');
    const c = collect(r);
    writeSync(w, 'abc\n');
    await waitFor(() => c.data() === 'abc\n', 'data');
    writeSync(w, 'def');
    closeSync(w);
    await waitFor(() => c.ended(), 'end');
    expect(c.data()).toBe('abc\ndef');
    c.input.close(); // (the socket closed the read end at its end)
  });

  it('idle FIFOs do not occupy the thread pool (more of them than pool threads, fs still answers)', async () => {
    const dir = tmpdir();
    const open: { r: number; w: number; c: ReturnType<typeof collect> }[] = [];
    for (let i = 0; i < 8; i++) {
      const f = fifo(dir, `f${i}`);
      open.push({ ...f, c: collect(f.r) });
    }
    writeFileSync(join(dir, 'plain'), 'ok');
    const t0 = Date.now();
    expect(await readFile(join(dir, 'plain'), 'utf8')).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const o of open) {
      o.c.input.close();
      closeSync(o.w);
      closeSync(o.r);
    }
  });

  it('pause stops reading at once (bytes stay in the pipe); readByte takes exactly one byte', async () => {
    const { r, w } = fifo(tmpdir(), 'f');
    const c = collect(r);
    writeSync(w, 'first\n');
    await waitFor(() => c.data() === 'first\n', 'first');
    c.input.pause();
    writeSync(w, 'xy\nrest');
    expect(await c.input.readByte()).toEqual(Buffer.from('x'));
    expect(await c.input.readByte()).toEqual(Buffer.from('y'));
    expect(c.data()).toBe('first\n');
    c.input.close();
    // what we did not take is still in the pipe, for the next reader
    const buf = Buffer.alloc(100);
    const n = readSync(r, buf, 0, 100, null);
    expect(buf.subarray(0, n).toString()).toBe('\nrest');
    closeSync(w);
    closeSync(r);
  });

  it('readByte waits for a byte that has not arrived yet, and returns null at end of input', async () => {
    const { r, w } = fifo(tmpdir(), 'f');
    const c = collect(r);
    c.input.pause();
    const p = c.input.readByte();
    setTimeout(() => writeSync(w, 'Z'), 50);
    expect(await p).toEqual(Buffer.from('Z'));
    closeSync(w);
    expect(await c.input.readByte()).toBeNull();
    c.input.close();
    closeSync(r);
  });

  it('reads a regular file to its end, honouring pause/resume', async () => {
    const dir = tmpdir();
    const big = Buffer.alloc(1024 * 1024 + 7, 'q');
    writeFileSync(join(dir, 'f'), big);
    const fd = openSync(join(dir, 'f'), 'r');
    const c = collect(fd);
    c.input.pause();
    await new Promise((res) => setImmediate(res));
    c.input.resume();
    await waitFor(() => c.ended(), 'end');
    expect(c.data().length).toBe(big.length);
    closeSync(fd);
  });
});
