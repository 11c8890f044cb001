// Reading a gzip-compressed archive (`@<label>.s.gz`, written by the logger's `%gzip`) by uncompressed
// offset, synchronously and in bounded memory, so a log reader can treat it like a plain file.
//
// Node has no public synchronous streaming inflater: zlib's *Sync functions take the whole input, and a
// stream's undocumented `_processChunk` closes the stream after one call. So this drives the zlib
// handle of a Gunzip stream the way Node's own processChunkSync (lib/zlib.js) does, without closing it:
// `_handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, then `_writeState` = [availOut,
// availIn]; an error is reported synchronously through the stream's kError symbol. If a future Node
// lacks these, a whole archive is inflated at once with gunzipSync instead (memory: one archive).
// test/io/logdir-read-gz.test.ts checks the streaming path on the running Node. Input goes in 4 KiB at
// a time, output in 64 KiB buffers.
import { fstatSync, readSync } from 'node:fs';
import type * as Zlib from 'node:zlib';
type Gunzip = Zlib.Gunzip;

// node:zlib is loaded on the first compressed archive only (most runs have none; start-up counts for
// `tail --since`, issue 5), with process.getBuiltinModule (Node 20.16+), which works the same in the
// ES modules of dist/ and in tail's CommonJS bundle.
let zlibModule: typeof Zlib | null = null;
function zlib(): typeof Zlib {
  return (zlibModule ??= process.getBuiltinModule('node:zlib'));
}

const IN_CHUNK = 4096;
const OUT_CHUNK = 1 << 16;
const EMPTY = Buffer.alloc(0);

interface ZHandle {
  writeSync(flush: number, inp: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}
interface ZPrivate {
  _handle?: ZHandle | null;
  _writeState?: Uint32Array;
}

/** A synchronous inflate step on a fresh Gunzip's handle, or null when this Node does not have one. */
function syncStep(g: Gunzip): ((chunk: Buffer) => Buffer[]) | null {
  const z = g as unknown as ZPrivate & Record<symbol, unknown>;
  if (!z._handle || typeof z._handle.writeSync !== 'function' || !(z._writeState instanceof Uint32Array)) return null;
  const kError = Object.getOwnPropertySymbols(g).find((s) => s.description === 'kError');
  g.on('error', () => {}); // (reported through kError below; the stream's own async 'error' is ignored)
  return (chunk) => {
    const out: Buffer[] = [];
    let inOff = 0;
    let inLen = chunk.length;
    for (;;) {
      const h = z._handle;
      if (!h) throw new Error('zlib stream closed');
      const buf = Buffer.allocUnsafe(OUT_CHUNK);
      h.writeSync(zlib().constants.Z_SYNC_FLUSH, chunk, inOff, inLen, buf, 0, buf.length);
      const err = kError ? z[kError] : undefined;
      if (err) throw err;
      const availOut = z._writeState![0]!;
      const availIn = z._writeState![1]!;
      if (availOut < buf.length) out.push(buf.subarray(0, buf.length - availOut));
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) return out;
    }
  };
}

/** True when a file name is a compressed archive. */
export function isGz(name: string): boolean {
  return name.endsWith('.gz');
}

/** The archive's name without ".gz" (its identity: the same bytes are inside). */
export function baseName(name: string): string {
  return name.endsWith('.gz') ? name.slice(0, -3) : name;
}

/**
 * The uncompressed size from a gzip trailer (ISIZE: the size modulo 2^32), or -1 when the file is too
 * short to be gzip. `size` is the compressed file's size.
 */
export function gzSize(fd: number, size: number): number {
  if (size < 18) return -1;
  const b = Buffer.alloc(4);
  if (readSync(fd, b, 0, 4, size - 4) !== 4) return -1;
  return b.readUInt32LE(0);
}

/**
 * Sequential reads of the uncompressed bytes of a gzip file open at `fd`. A read at an offset ahead of
 * what was produced inflates and drops the bytes in between; a read behind it starts again from the
 * start of the file (rare: a resumed reader reads forward).
 */
export class GzReader {
  private g: Gunzip | null = null;
  private step: ((chunk: Buffer) => Buffer[]) | null = null;
  private readonly inBuf = Buffer.allocUnsafe(IN_CHUNK);
  private inPos = 0; // next compressed byte to read
  private pieces: Buffer[] = []; // inflated, not yet current
  private out: Buffer = EMPTY; // the current inflated piece
  private outStart = 0; // uncompressed offset of out[0]
  private done = false;

  constructor(private readonly fd: number) {
    this.restart();
  }

  /** Like readSync(fd, buf, off, len, pos) on the uncompressed bytes: 0 at the end. Throws on corrupt data. */
  read(buf: Buffer, off: number, len: number, pos: number): number {
    if (pos < this.outStart) this.restart();
    for (;;) {
      const at = pos - this.outStart;
      if (at < this.out.length) {
        const n = Math.min(len, this.out.length - at);
        this.out.copy(buf, off, at, at + n);
        return n;
      }
      if (!this.more()) return 0;
    }
  }

  /** Makes the next inflated piece current; false at the end of the input. */
  private more(): boolean {
    while (this.pieces.length === 0) {
      if (this.done) return false;
      if (this.step === null) {
        // No streaming step on this Node: the whole archive at once.
        const all = Buffer.allocUnsafe(fstatSync(this.fd).size);
        const n = readSync(this.fd, all, 0, all.length, 0);
        this.pieces.push(zlib().gunzipSync(all.subarray(0, n)));
        this.done = true;
        break;
      }
      const n = readSync(this.fd, this.inBuf, 0, IN_CHUNK, this.inPos);
      if (n === 0) {
        this.done = true; // (a truncated file ends here: what was inflated is all there is)
        return false;
      }
      this.inPos += n;
      for (const p of this.step(this.inBuf.subarray(0, n))) this.pieces.push(p);
    }
    this.outStart += this.out.length;
    this.out = this.pieces.shift()!;
    return true;
  }

  private restart(): void {
    this.g?.close();
    this.g = zlib().createGunzip();
    this.step = syncStep(this.g);
    this.inPos = 0;
    this.pieces = [];
    this.out = EMPTY;
    this.outStart = 0;
    this.done = false;
  }

  /** False when this Node forced the whole-archive fallback. */
  get streaming(): boolean {
    return this.step !== null;
  }

  close(): void {
    this.g?.close();
    this.g = null;
  }
}
