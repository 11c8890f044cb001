// One multilog log directory: lock, start-up recovery, appending to `current` with multilog's rotation
// rule, rotation through the optional processor, finishing old files and retention (daemontools
// multilog.c restart/c_write/fullcurrent/finish). After start-up no error is fatal: every failing
// operation warns "unable to ..., pausing: <reason>", waits (a timer, never a sleeping thread) and retries,
// so nothing is ever lost or reordered.
//
// Writes are synchronous (fs.writeSync) on purpose: they go to the page cache and each carries a large batch
// (the engine writes >= 256 KiB at a time, or whatever is pending when input idles), so one costs tens of
// microseconds of event-loop time. Measured on 200 MB (`t s16777215 n10`, tmpfs, 4 runs each): user+sys CPU
// 0.87-0.93 s with writeSync against 0.92-1.01 s with fs.write through the thread pool, elapsed equal within
// the noise; the async form also needs the batch pinned until the callback. fsync is synchronous as in
// multilog (once per rotation and at exit) and is kept short by the write-behind fdatasync below.
//
// The upkeep directives (`%header`, `%rotate`, `%total`, `%json`, `%gzip`; src/core/script.ts) act only
// when spec.extras is present: without them every path below is multilog's. JSON lines are converted
// here, on their way into `current`, so the engine's hot path is the same for both formats.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { describeError, FatalError } from '../core/errors.js';
import { headerJsonLine, headerTextLine, jsonLogLine, jsonPieceMax, type HeaderFields } from '../core/logfile-format.js';
import { takeStamp, unixStamp, type Stamp } from '../core/logline.js';
import { capVictims, fullAfterWrite, fullBeforeWrite, recoveryPlan, retentionVictim, writeStep } from '../core/rotation.js';
import type { LogdirSpec } from '../core/script.js';
import { LabelWriter } from '../core/tai64n.js';
import type { Clock } from './clock.js';

const C = nodeFs.constants;
const O_APPEND_CREATE = C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT;
const O_TRUNC_CREATE = C.O_WRONLY | C.O_NONBLOCK | C.O_TRUNC | C.O_CREAT;
const O_READ = C.O_RDONLY | C.O_NONBLOCK;

/** The file-system calls a log directory makes: tests inject failures (disk full, EIO) through this seam. */
export interface FsSeam {
  openSync(path: nodeFs.PathLike, flags: number, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buf: Uint8Array, off: number, len: number, pos?: number | null): number;
  fsyncSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
  chmodSync(path: nodeFs.PathLike, mode: number): void;
  renameSync(from: nodeFs.PathLike, to: nodeFs.PathLike): void;
  linkSync(from: nodeFs.PathLike, to: nodeFs.PathLike): void;
  unlinkSync(path: nodeFs.PathLike): void;
  statSync(path: nodeFs.PathLike): nodeFs.Stats;
  mkdirSync(path: nodeFs.PathLike, mode: number): void;
  readdirBuffers(path: string): Buffer[];
  /** Asynchronous fdatasync (thread pool): the background write-behind of `current`. */
  fdatasync(fd: number, cb: (err: Error | null) => void): void;
}

export const realFs: FsSeam = {
  openSync: (p, f, m) => nodeFs.openSync(p, f, m),
  closeSync: (fd) => nodeFs.closeSync(fd),
  writeSync: (fd, b, o, l, p) => nodeFs.writeSync(fd, b, o, l, p),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  fchmodSync: (fd, m) => nodeFs.fchmodSync(fd, m),
  chmodSync: (p, m) => nodeFs.chmodSync(p, m),
  renameSync: (a, b) => nodeFs.renameSync(a, b),
  linkSync: (a, b) => nodeFs.linkSync(a, b),
  unlinkSync: (p) => nodeFs.unlinkSync(p),
  statSync: (p) => nodeFs.statSync(p),
  mkdirSync: (p, m) => void nodeFs.mkdirSync(p, m),
  readdirBuffers: (p) => nodeFs.readdirSync(p, { encoding: 'buffer' }),
  fdatasync: (fd, cb) => nodeFs.fdatasync(fd, cb),
};

/**
 * Write-behind: once this many bytes have been appended since the last sync, an asynchronous fdatasync of
 * `current` starts in the background while we keep writing. The fsync that must precede each rotation then
 * has little left to do (with s16777215 it otherwise stalls the logger for the whole 16 MB).
 */
const SYNC_AHEAD = 4 * 1024 * 1024;

/** What a log directory needs from its owner. */
export interface LogdirContext {
  readonly fs: FsSeam;
  readonly clock: Clock;
  /** The directory relative paths are resolved against (multilog's starting directory). */
  readonly baseDir: string;
  /** "multilog" in messages. */
  readonly prog: string;
  /** Writes a complete message line to the logger's stderr. */
  say(line: string): void;
  /** The pause between retries (5 s in production). */
  pause(): Promise<void>;
  /** Brackets a wait that holds the logger up (processor run, waiting for a sync): +1 before, -1 after. */
  holdUp(delta: 1 | -1): void;
  /** Takes the flock on `path` (created 0600), resolving to the fd that holds it. */
  lock(path: string): Promise<number>;
  /** fd 2 of the processor. */
  readonly processorStderr: number | 'inherit' | 'ignore';
  /** Environment of the processor (undefined: inherited). */
  readonly processorEnv?: NodeJS.ProcessEnv;
  /** `%rotate`: the directory's `current` is due; the owner rotates it at its next input boundary. */
  requestRotate?(dir: LogDir): void;
}

/** `%gzip` writes the compressed archive here first: no "@" name, so neither retention nor a glob counts it. */
const GZIP_TMP = 'gzip.tmp';
const ARCHIVE_NAME = /^@[0-9a-f]{24}\.[su]$/;

function stampOfMicros(us: number): Stamp {
  const sec = Math.floor(us / 1e6);
  return unixStamp(sec, (us - sec * 1e6) * 1000, 'daemontools');
}

function code(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** One asynchronous write(2) (thread pool) of buf[off..] to fd; resolves to the bytes written. */
function writeAsync(fd: number, buf: Buffer, off: number): Promise<number> {
  return new Promise((res, rej) => nodeFs.write(fd, buf, off, buf.length - off, null, (e, n) => (e ? rej(e) : res(n))));
}

export class LogDir {
  readonly path: string;
  /** The argument as given, for messages. */
  readonly dir: string;
  /** Bytes in `current` (multilog's d->bytes). */
  bytes = 0;
  private fd = -1;
  private lockFd = -1;
  private readonly label = new LabelWriter('daemontools');
  private readonly nameBuf = Buffer.alloc(27);
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private syncErr: unknown = undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private compressing: Promise<void> | null = null;
  private compressAgain = false;
  /** %json: the start of a line whose newline has not come yet, its stamp, and whether pieces were written. */
  private jsonCarry: Buffer | null = null;
  private readonly jsonStamp: Stamp = { tai: 0, nano: 0 };
  private jsonContinued = false;
  private jsonBatch: Buffer[] = [];
  private jsonBatchLen = 0;

  constructor(readonly spec: LogdirSpec, private readonly ctx: LogdirContext) {
    this.dir = spec.dir;
    this.path = resolve(ctx.baseDir, spec.dir);
  }

  private p(file: string): string {
    return join(this.path, file);
  }

  private warn(text: string, err?: unknown): void {
    this.ctx.say(`${this.ctx.prog}: warning: ${text}${err === undefined ? '' : `: ${describeError(err)}`}\n`);
  }

  /** Runs `op` until it succeeds, warning "<what>, pausing: <reason>" and pausing after each failure. */
  private async retry<T>(op: () => T, what: string): Promise<T> {
    for (;;) {
      try {
        return op();
      } catch (e) {
        this.warn(`${what}, pausing`, e);
        await this.ctx.pause();
      }
    }
  }

  /** Start-up (multilog's restart()); throws FatalError (exit 111) exactly where multilog dies. */
  async open(): Promise<void> {
    const { fs } = this.ctx;
    const dir = this.dir;
    try {
      fs.mkdirSync(this.path, 0o700);
    } catch {
      // exists already, or the open below reports why not
    }
    try {
      fs.closeSync(fs.openSync(this.path, O_READ | C.O_DIRECTORY));
    } catch (e) {
      throw new FatalError(`unable to open directory ${dir}`, e);
    }
    try {
      this.lockFd = await this.ctx.lock(this.p('lock'));
    } catch (e) {
      throw new FatalError(`unable to lock directory ${dir}`, e);
    }
    try {
      await this.recover();
    } catch (e) {
      this.release();
      throw e;
    }
  }

  private async recover(): Promise<void> {
    const { fs } = this.ctx;
    const dir = this.dir;
    let st: nodeFs.Stats | undefined;
    try {
      st = fs.statSync(this.p('current'));
    } catch (e) {
      if (code(e) !== 'ENOENT') throw new FatalError(`unable to stat ${dir}/current`, e);
    }
    let processedExec = false;
    const plan = recoveryPlan({ exists: st !== undefined, userExec: st !== undefined && (st.mode & 0o100) !== 0 }, false);
    if (plan === null) {
      try {
        this.fd = fs.openSync(this.p('current'), O_APPEND_CREATE, 0o600);
      } catch (e) {
        throw new FatalError(`unable to append to ${dir}/current`, e);
      }
      try {
        fs.fchmodSync(this.fd, 0o644);
      } catch (e) {
        throw new FatalError(`unable to set mode of ${dir}/current`, e);
      }
      this.bytes = st!.size;
      if (this.bytes > 0) this.armRotateTimer();
      this.kickCompress();
      return;
    }
    for (const f of ['state', 'newstate']) {
      try {
        fs.unlinkSync(this.p(f));
      } catch {
        // as multilog: ignored
      }
    }
    try {
      processedExec = (fs.statSync(this.p('processed')).mode & 0o100) !== 0;
    } catch (e) {
      if (code(e) !== 'ENOENT') throw new FatalError(`unable to stat ${dir}/processed`, e);
    }
    for (const step of recoveryPlan({ exists: st !== undefined, userExec: false }, processedExec)!) {
      switch (step.op) {
        case 'unlink':
          if (step.file === 'state' || step.file === 'newstate') break; // done above
          try {
            fs.unlinkSync(this.p(step.file));
          } catch {
            // ignored, as multilog
          }
          break;
        case 'finish':
          await this.finish(step.file, step.code);
          break;
        case 'create-state':
          try {
            const fd = fs.openSync(this.p('state'), O_TRUNC_CREATE, 0o644);
            fs.fchmodSync(fd, 0o644);
            fs.closeSync(fd);
          } catch (e) {
            throw new FatalError(`unable to write to ${dir}/state`, e);
          }
          break;
        case 'create-current':
          try {
            this.fd = fs.openSync(this.p('current'), O_APPEND_CREATE, 0o600);
            fs.fchmodSync(this.fd, 0o644);
          } catch (e) {
            throw new FatalError(`unable to write to ${dir}/current`, e);
          }
          this.bytes = 0;
          break;
      }
    }
    this.kickCompress();
  }

  /** "@<now>.<code>" into nameBuf. */
  private stampName(c: 's' | 'u'): string {
    this.label.write(this.nameBuf, 0, this.ctx.clock.nowMicros());
    this.nameBuf[25] = 46; // '.'
    this.nameBuf[26] = c.charCodeAt(0);
    return this.nameBuf.toString('latin1');
  }

  /** multilog's finish(): link FILE to @<now>.CODE (unless already linked elsewhere), unlink it, apply retention. */
  private async finish(file: string, c: 's' | 'u'): Promise<void> {
    const { fs } = this.ctx;
    const dir = this.dir;
    const path = this.p(file);
    let st: nodeFs.Stats;
    for (;;) {
      try {
        st = fs.statSync(path);
        break;
      } catch (e) {
        if (code(e) === 'ENOENT') return;
        this.warn(`unable to stat ${dir}/${file}, pausing`, e);
        await this.ctx.pause();
      }
    }
    if (st.nlink === 1) {
      for (;;) {
        const name = this.stampName(c);
        try {
          // %gzip: NAME.gz is NAME compressed, so NAME is taken while it exists (the clock went back, or a
          // clock that stands still): compressAll would take the new NAME for a leftover and remove it.
          if (this.spec.extras?.gzip && this.exists(name + '.gz')) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
          fs.linkSync(path, this.p(name));
          break;
        } catch (e) {
          this.warn(`unable to link to ${dir}/${name}, pausing`, e);
          await this.ctx.pause();
        }
      }
    }
    await this.retry(() => fs.unlinkSync(path), `unable to remove ${dir}/${file}`);
    const prefix = Buffer.from(this.path + '/');
    for (;;) {
      const names = await this.retry(() => fs.readdirBuffers(this.path), `unable to read ${dir}`);
      const v = retentionVictim(names, this.spec.num);
      if (v < 0) break;
      const name = names[v]!;
      // ENOENT: gone meanwhile (compressed to NAME.gz by %gzip); the names are read again.
      await this.retry(() => {
        try {
          fs.unlinkSync(Buffer.concat([prefix, name]));
        } catch (e) {
          if (code(e) !== 'ENOENT') throw e;
        }
      }, `unable to remove ${dir}/${name.toString('latin1')}`);
    }
    const cap = this.spec.extras?.totalBytes ?? 0;
    if (cap > 0) await this.applyCap(cap);
  }

  /** `%total`: deletes the oldest archives until the rest fit in `cap` bytes (the newest always stays). */
  private async applyCap(cap: number): Promise<void> {
    const { fs } = this.ctx;
    const names = await this.retry(() => fs.readdirBuffers(this.path), `unable to read ${this.dir}`);
    const archives: { name: string; size: number }[] = [];
    for (const b of names) {
      if (b.length < 25 || b[0] !== 64) continue;
      const name = b.toString('latin1');
      try {
        archives.push({ name, size: fs.statSync(this.p(name)).size });
      } catch {
        // gone meanwhile
      }
    }
    for (const name of capVictims(archives, cap)) {
      await this.retry(() => {
        try {
          fs.unlinkSync(this.p(name));
        } catch (e) {
          if (code(e) !== 'ENOENT') throw e;
        }
      }, `unable to remove ${this.dir}/${name}`);
    }
  }

  /**
   * Appends data[from, to) to `current`, rotating as multilog's c_write does: a file never exceeds the size;
   * it ends at the last newline of a write reaching into the final 2000 bytes, or exactly at the size when a
   * stretch without newline fills it.
   */
  async write(data: Uint8Array, from: number, to: number): Promise<void> {
    if (this.spec.extras?.json) return this.writeJson(data, from, to);
    return this.writeRaw(data, from, to, this.spec.extras?.header ?? false);
  }

  private async writeRaw(data: Uint8Array, from: number, to: number, header: boolean): Promise<void> {
    const size = this.spec.size;
    let off = from;
    while (off < to) {
      if (fullBeforeWrite(this.bytes, size)) await this.rotate();
      if (header && this.bytes === 0) {
        const f = this.headerFields();
        // labelled: the header carries the label of the line it precedes, so it sorts first
        if (this.spec.extras!.labelled) takeStamp(data, off, Math.min(to, off + 26), f.stamp);
        const h = Buffer.from(headerTextLine(f, this.spec.extras!.labelled));
        for (let o = 0; o < h.length; ) o += await this.append(h, o, h.length - o);
      }
      const len = writeStep(this.bytes, size, data, off, to);
      off += await this.append(data, off, len);
      if (fullAfterWrite(this.bytes, size, data[off - 1]!)) await this.rotate();
    }
  }

  /** The fields of a new header: this machine, this directory, a fresh random id, now. */
  private headerFields(): HeaderFields {
    return { host: hostname(), dir: this.path, id: randomBytes(16).toString('hex'), stamp: stampOfMicros(this.ctx.clock.nowMicros()) };
  }

  /** One write(2) of data[off, off+len) to `current` (at least one byte, retried until it succeeds); returns its length. */
  private async append(data: Uint8Array, off: number, len: number): Promise<number> {
    const { fs } = this.ctx;
    let w = 0;
    for (;;) {
      try {
        w = fs.writeSync(this.fd, data, off, len, null);
        if (w > 0) break;
        this.warn(`unable to write to ${this.dir}/current, pausing`, { code: 'EIO' });
      } catch (e) {
        this.warn(`unable to write to ${this.dir}/current, pausing`, e);
      }
      await this.ctx.pause();
    }
    if (this.bytes === 0) this.armRotateTimer();
    this.bytes += w;
    this.unsynced += w;
    if (this.unsynced >= SYNC_AHEAD && this.syncing === null) this.syncBehind();
    return w;
  }

  /**
   * %json: each complete line becomes one JSON object (the label, when the script has `t`, becomes its
   * time; else the time of this write). A line longer than one object may carry is cut into pieces, the
   * later ones marked "continued". Objects are batched, and `current` is rotated before an object that
   * would not fit, so that no object is ever cut between two files.
   */
  private async writeJson(data: Uint8Array, from: number, to: number): Promise<void> {
    const x = this.spec.extras!;
    const max = jsonPieceMax(this.spec.size - (x.header ? 512 : 0)) + (x.labelled ? 26 : 0);
    const nowStamp = x.labelled ? null : stampOfMicros(this.ctx.clock.nowMicros());
    let pos = from;
    while (pos < to) {
      let nl = data.indexOf(10, pos);
      if (nl >= to) nl = -1;
      const end = nl < 0 ? to : nl;
      const part = Buffer.from(data.buffer, data.byteOffset + pos, end - pos);
      let line = this.jsonCarry === null ? part : Buffer.concat([this.jsonCarry, part]);
      this.jsonCarry = null;
      // pieces of an over-long line
      while (line.length > max) {
        let cut = max;
        while (cut > max - 3 && (line[cut]! & 0xc0) === 0x80) cut--; // keep UTF-8 sequences whole
        await this.jsonPiece(line.subarray(0, cut), nowStamp);
        line = line.subarray(cut);
      }
      if (nl < 0) {
        this.jsonCarry = Buffer.from(line);
        break;
      }
      await this.jsonPiece(line, nowStamp);
      this.jsonContinued = false;
      pos = nl + 1;
    }
    await this.jsonFlush();
  }

  private async jsonPiece(piece: Buffer, nowStamp: Stamp | null): Promise<void> {
    let msg: Buffer = piece;
    if (!this.jsonContinued) {
      if (nowStamp !== null) {
        this.jsonStamp.tai = nowStamp.tai;
        this.jsonStamp.nano = nowStamp.nano;
      } else if (takeStamp(piece, 0, piece.length, this.jsonStamp)) {
        msg = piece.subarray(piece.length > 25 ? 26 : 25);
      }
    }
    const obj = Buffer.from(jsonLogLine(msg, this.jsonStamp, this.jsonContinued));
    this.jsonContinued = true;
    const size = this.spec.size;
    if (this.bytes + this.jsonBatchLen + obj.length > size) {
      await this.jsonFlush();
      if (this.bytes > 0 && this.bytes + obj.length > size) await this.rotate();
    }
    if (this.bytes === 0 && this.jsonBatchLen === 0 && this.spec.extras!.header) {
      const h = Buffer.from(headerJsonLine(this.headerFields()));
      this.jsonBatch.push(h);
      this.jsonBatchLen += h.length;
    }
    this.jsonBatch.push(obj);
    this.jsonBatchLen += obj.length;
  }

  private async jsonFlush(): Promise<void> {
    if (this.jsonBatchLen === 0) return;
    const b = this.jsonBatch.length === 1 ? this.jsonBatch[0]! : Buffer.concat(this.jsonBatch, this.jsonBatchLen);
    this.jsonBatch = [];
    this.jsonBatchLen = 0;
    await this.writeRaw(b, 0, b.length, false);
  }

  /** %rotate: `current` just got its first byte; it is due that long after. */
  private armRotateTimer(): void {
    const sec = this.spec.extras?.rotateSec ?? 0;
    if (sec <= 0 || this.rotateTimer !== undefined || !this.ctx.requestRotate) return;
    this.rotateTimer = setTimeout(() => {
      this.rotateTimer = undefined;
      this.ctx.requestRotate?.(this);
    }, sec * 1000);
    this.rotateTimer.unref();
  }

  private clearRotateTimer(): void {
    if (this.rotateTimer !== undefined) clearTimeout(this.rotateTimer);
    this.rotateTimer = undefined;
  }

  /** %gzip: (re)starts the background compressor, which works through every uncompressed archive. */
  private kickCompress(): void {
    if (!this.spec.extras?.gzip) return;
    if (this.compressing !== null) {
      this.compressAgain = true;
      return;
    }
    this.compressing = this.compressAll().finally(() => {
      this.compressing = null;
      if (this.compressAgain && this.lockFd >= 0) {
        this.compressAgain = false;
        this.kickCompress();
      }
    });
  }

  private async compressAll(): Promise<void> {
    const { fs } = this.ctx;
    let name = '';
    try {
      // Until no archive is left uncompressed (rotations may add some while we work).
      for (let done = false; !done; ) {
        done = true;
        const names = fs.readdirBuffers(this.path).map((b) => b.toString('latin1'));
        if (names.includes(GZIP_TMP)) fs.unlinkSync(this.p(GZIP_TMP)); // left by a crash: start it again
        const have = new Set(names);
        for (name of names.filter((n) => ARCHIVE_NAME.test(n)).sort()) {
          if (this.lockFd < 0) return; // released
          done = false;
          try {
            // A complete .gz (renamed only once written and synced) whose original is still there: a
            // crash between the rename and the unlink. The original goes now. (finish() never gives a new
            // archive a name whose .gz exists.)
            if (have.has(name + '.gz')) fs.unlinkSync(this.p(name));
            else await this.compressOne(name);
          } catch (e) {
            if (code(e) !== 'ENOENT') throw e; // else retention took it meanwhile
          }
        }
      }
    } catch (e) {
      // Retried at the next rotation or start; nothing is lost: the archive stays uncompressed meanwhile.
      this.warn(`unable to compress ${this.dir}/${name}`, e);
    }
  }

  /**
   * Compresses one archive to GZIP_TMP through zlib's stream (off the event loop), syncs it, then, in one
   * synchronous step that retention cannot interleave with: renames it to NAME.gz and removes NAME.
   *
   * The compressed bytes are written through our own descriptor by the last stage of the pipeline, never by
   * a stream given the fd: pipeline() destroys every stream when one fails (the source removed by retention
   * meanwhile), and a destroyed fs.WriteStream closes its fd even with autoClose: false, asynchronously,
   * after we closed it ourselves, by then the number of whatever was opened next (the next gzip.tmp,
   * `current`, another directory's files in loghost).
   */
  private async compressOne(name: string): Promise<void> {
    const { fs } = this.ctx;
    const src = this.p(name);
    const tmp = this.p(GZIP_TMP);
    const mode = fs.statSync(src).mode & 0o7777;
    const fd = fs.openSync(tmp, O_TRUNC_CREATE & ~C.O_NONBLOCK, 0o600);
    try {
      await pipeline(nodeFs.createReadStream(src), createGzip(), async (gz: AsyncIterable<Buffer>) => {
        for await (const chunk of gz) for (let o = 0; o < chunk.length; ) o += await writeAsync(fd, chunk, o);
      });
      await new Promise<void>((res, rej) => nodeFs.fsync(fd, (e) => (e ? rej(e) : res())));
      fs.fchmodSync(fd, mode);
    } finally {
      fs.closeSync(fd);
    }
    if (!this.exists(name)) {
      fs.unlinkSync(tmp); // retention took the original meanwhile
      return;
    }
    fs.renameSync(tmp, src + '.gz');
    const dfd = fs.openSync(this.path, C.O_RDONLY | C.O_DIRECTORY);
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    fs.unlinkSync(src);
  }

  /** Whether FILE exists in the directory (any error but ENOENT is thrown). */
  private exists(file: string): boolean {
    try {
      this.ctx.fs.statSync(this.p(file));
      return true;
    } catch (e) {
      if (code(e) === 'ENOENT') return false;
      throw e;
    }
  }

  private syncBehind(): void {
    const fd = this.fd;
    this.unsynced = 0;
    this.syncing = new Promise((done) => {
      this.ctx.fs.fdatasync(fd, (err) => {
        if (err) this.syncErr = err;
        this.syncing = null;
        done();
      });
    });
  }

  /**
   * fsync `current` (after any write-behind sync). A failed write-behind sync is reported like a failed
   * fsync (the kernel reports a writeback error only once per file description).
   */
  private async syncCurrent(): Promise<void> {
    if (this.syncing) {
      this.ctx.holdUp(1);
      await this.syncing;
      this.ctx.holdUp(-1);
    }
    if (this.syncErr !== undefined) {
      const e = this.syncErr;
      this.syncErr = undefined;
      this.warn(`unable to write ${this.dir}/current to disk, pausing`, e);
      await this.ctx.pause();
    }
    const fd = this.fd;
    await this.retry(() => this.ctx.fs.fsyncSync(fd), `unable to write ${this.dir}/current to disk`);
    this.unsynced = 0;
  }

  /** multilog's fullcurrent(): current -> previous -> (processor) -> @<now>.s, and a fresh current. */
  async rotate(): Promise<void> {
    this.clearRotateTimer();
    await this.rotateFiles();
    this.kickCompress();
  }

  private async rotateFiles(): Promise<void> {
    const { fs } = this.ctx;
    const dir = this.dir;
    const fd = this.fd;
    await this.syncCurrent();
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to do: the data is on disk
    }
    this.fd = -1;
    await this.retry(() => fs.renameSync(this.p('current'), this.p('previous')), `unable to rename current to previous in directory ${dir}`);
    this.fd = await this.retry(() => fs.openSync(this.p('current'), O_APPEND_CREATE, 0o600), `unable to create ${dir}/current`);
    this.bytes = 0;
    await this.retry(() => fs.fchmodSync(this.fd, 0o644), `unable to set mode of ${dir}/current`);
    await this.retry(() => fs.chmodSync(this.p('previous'), 0o744), `unable to set mode of ${dir}/previous`);
    if (this.spec.processor === null) {
      await this.finish('previous', 's');
      return;
    }
    for (;;) {
      this.ctx.holdUp(1);
      const r = await this.runProcessor(this.spec.processor);
      this.ctx.holdUp(-1);
      if (r === 'ok') break;
      if (r === 'crashed') {
        // multilog reports a crash with pause3(), whose trailing reason is a stale errno: Debian's build
        // prints ENOENT's text there. Then it falls through to the "failed" warning and pauses again.
        this.warn(`processor crashed in ${dir}, pausing`, { code: 'ENOENT' });
        await this.ctx.pause();
      } else if (r !== 'failed') {
        this.warn(`unable to fork for processor in ${dir}, pausing: ${r.slice(5)}`);
        await this.ctx.pause();
        continue;
      }
      this.warn(`processor failed in ${dir}, pausing`);
      await this.ctx.pause();
    }
    const fdp = await this.retry(() => fs.openSync(this.p('processed'), O_APPEND_CREATE, 0o600), `unable to create ${dir}/processed`);
    await this.retry(() => fs.fsyncSync(fdp), `unable to write ${dir}/processed to disk`);
    await this.retry(() => fs.fchmodSync(fdp, 0o744), `unable to set mode of ${dir}/processed`);
    fs.closeSync(fdp);
    const fdn = await this.retry(() => fs.openSync(this.p('newstate'), O_APPEND_CREATE, 0o600), `unable to create ${dir}/newstate`);
    await this.retry(() => fs.fsyncSync(fdn), `unable to write ${dir}/newstate to disk`);
    fs.closeSync(fdn);
    await this.retry(() => fs.unlinkSync(this.p('previous')), `unable to remove ${dir}/previous`);
    await this.retry(() => fs.renameSync(this.p('newstate'), this.p('state')), `unable to rename newstate to state in directory ${dir}`);
    await this.finish('processed', 's');
  }

  /**
   * Runs the processor once: sh -c PROCESSOR in the log directory with fd 0 = previous, 1 = processed
   * (truncated), 4 = state, 5 = newstate (truncated), 2 = our stderr. Resolves 'ok' on exit 0, 'failed' on
   * another exit code, 'crashed' when killed by a signal, or "fork:<reason>" when it could not be started.
   */
  private runProcessor(cmd: string): Promise<'ok' | 'failed' | 'crashed' | string> {
    const { fs } = this.ctx;
    const fds: number[] = [];
    const closeAll = (): void => {
      for (const fd of fds) {
        try {
          fs.closeSync(fd);
        } catch {
          // ignore
        }
      }
    };
    try {
      fds.push(fs.openSync(this.p('previous'), O_READ));
      fds.push(fs.openSync(this.p('processed'), O_TRUNC_CREATE, 0o644));
      fds.push(fs.openSync(this.p('state'), O_READ));
      fds.push(fs.openSync(this.p('newstate'), O_TRUNC_CREATE, 0o644));
    } catch (e) {
      // multilog's child dies with this message and exits 111: a failure, retried.
      closeAll();
      this.ctx.say(`${this.ctx.prog}: fatal: unable to run ${cmd}: ${describeError(e)}\n`);
      return Promise.resolve('failed');
    }
    return new Promise((done) => {
      let settled = false;
      const settle = (r: string): void => {
        if (settled) return;
        settled = true;
        closeAll();
        done(r);
      };
      try {
        const child = spawn('/bin/sh', ['-c', cmd], {
          cwd: this.path,
          env: this.ctx.processorEnv,
          stdio: [fds[0]!, fds[1]!, this.ctx.processorStderr, 'ignore', fds[2]!, fds[3]!],
        });
        child.once('error', (e) => settle(`fork:${describeError(e)}`));
        child.once('exit', (status, signal) => {
          if (signal !== null) settle('crashed');
          else settle(status === 0 ? 'ok' : 'failed');
        });
      } catch (e) {
        settle(`fork:${describeError(e)}`);
      }
    });
  }

  /** End of input: fsync `current` and mark it cleanly closed (u+x), then release the lock. */
  async close(): Promise<void> {
    const { fs } = this.ctx;
    const fd = this.fd;
    await this.syncCurrent();
    await this.retry(() => fs.fchmodSync(fd, 0o744), `unable to set mode of ${this.dir}/current`);
    this.clearRotateTimer();
    while (this.compressing !== null) await this.compressing; // a compression under way completes
    this.release();
  }

  /** Closes our descriptors (the lock goes with its fd). */
  release(): void {
    this.clearRotateTimer();
    for (const fd of [this.fd, this.lockFd]) {
      if (fd >= 0) {
        try {
          this.ctx.fs.closeSync(fd);
        } catch {
          // ignore
        }
      }
    }
    this.fd = -1;
    this.lockFd = -1;
  }
}
