// The stdin -> stdout byte pump of the daemontools filters (tai64n, tai64nlocal): big reads, one big output
// buffer, and the output flushed before every read that may block (djb's buffer_0 / myread()), so the
// filter is usable interactively. Reads are synchronous: the filter has nothing else to do while it waits,
// and a blocking read() on the main thread never ties up libuv's thread pool. If stdin turns out to be
// non-blocking (EAGAIN), the rest is read through a net.Socket on the event loop instead.
import { readSync, writeSync } from 'node:fs';

export const IN_SIZE = 1 << 18;
export const OUT_SIZE = 1 << 19;

/** Thrown for read/write failures; the filters exit 111 on it (silently, like daemontools). */
export class StdioError extends Error {
  constructor(
    readonly op: 'read' | 'write',
    readonly code: string | undefined,
  ) {
    super(`unable to ${op}: ${code ?? 'error'}`);
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * One buffer for both directions: the output area buf[0, OUT_SIZE) and, after it, the input area
 * buf[IN_BASE, IN_BASE + IN_SIZE) that stdin is read into. Moving a line from input to output is then one
 * `buf.copyWithin()` (a plain memmove, about 3x cheaper per call than Buffer#copy, which is what a
 * per-line filter pays most for). Hot loops write into `buf` at `pos` directly.
 */
export class Output {
  readonly buf = Buffer.allocUnsafe(OUT_SIZE + IN_SIZE);
  pos = 0;
  constructor(private readonly fd: number) {}

  /** Makes sure `n` bytes (n <= OUT_SIZE) fit after `pos`. */
  room(n: number): void {
    if (this.pos + n > OUT_SIZE) this.flush();
  }

  /** Appends buf[start, end) from the input area. */
  move(start: number, end: number): void {
    const n = end - start;
    if (this.pos + n > OUT_SIZE) this.flush();
    this.buf.copyWithin(this.pos, start, end);
    this.pos += n;
  }

  /** Appends src[start, end) from any buffer. */
  copy(src: Uint8Array, start: number, end: number): void {
    while (start < end) {
      let free = OUT_SIZE - this.pos;
      if (free === 0) {
        this.flush();
        free = OUT_SIZE;
      }
      const n = Math.min(free, end - start);
      this.buf.set(src.subarray(start, start + n), this.pos);
      this.pos += n;
      start += n;
    }
  }

  flush(): void {
    let off = 0;
    const end = this.pos;
    while (off < end) {
      try {
        off += writeSync(this.fd, this.buf, off, end - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleepCell, 0, 0, 1); // stdout is non-blocking and full: wait a moment, retry
          continue;
        }
        throw new StdioError('write', code);
      }
    }
    this.pos = 0;
  }
}

export const IN_BASE = OUT_SIZE;

/**
 * Reads `fd` to EOF into out's input area, calling `onChunk(start, end)` with the bytes' place in
 * `out.buf` (and waiting if it returns a promise); the output is flushed before each read. The input
 * area is reused: copy what you keep.
 */
export type ChunkHandler = (start: number, end: number) => void | Promise<void>;

export async function pump(fd: number, out: Output, onChunk: ChunkHandler): Promise<void> {
  for (;;) {
    out.flush();
    let n: number;
    try {
      n = readSync(fd, out.buf, IN_BASE, IN_SIZE, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return pumpAsync(fd, out, onChunk);
      if (code === 'EINTR') continue;
      throw new StdioError('read', code);
    }
    if (n === 0) return;
    const wait = onChunk(IN_BASE, IN_BASE + n);
    if (wait) await wait; // (rare: e.g. tai64nlocal loading its zone code)
  }
}

async function pumpAsync(fd: number, out: Output, onChunk: ChunkHandler): Promise<void> {
  const { Socket } = await import('node:net'); // rarely needed: keep it out of start-up
  const sock = new Socket({ fd, readable: true, writable: false });
  try {
    for await (const chunk of sock as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; off += IN_SIZE) {
        const n = chunk.copy(out.buf, IN_BASE, off, Math.min(chunk.length, off + IN_SIZE));
        const wait = onChunk(IN_BASE, IN_BASE + n);
        if (wait) await wait;
      }
      if (sock.readableLength === 0) out.flush();
    }
  } catch (err) {
    throw new StdioError('read', (err as NodeJS.ErrnoException).code);
  }
  out.flush();
}
