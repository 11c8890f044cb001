// Reading a log directory (multilog, svlogd, s6-log) in order: archives `@<stamp>.s`/`.u` by name,
// then `previous` (a rotation in progress), then `current`; and following it across rotations.
// Regular files only, read with positional fs reads into one reused Buffer; lines are found with
// indexOf(10) and handed out as subarrays (no copies, no strings).
//
// Following: the reader keeps the fd of the file it is reading. At rotation `current` is renamed (with
// the same inode and bytes), so the fd still reads the rest of it even if retention removes it; then
// the reader lists the directory again and queues every file it has not seen (by name, and by inode
// for the file it was reading), oldest first.
//
// Compressed archives (`@<label>.s.gz`, the logger's `%gzip`) are read through zlib like plain files, by
// uncompressed offset. An archive is identified by its name without ".gz": when the logger compresses a
// file being read (a new inode with the same bytes inside, then the `.s` removed), the reader goes on
// from its open fd and recognises the `.gz` as already read; a live file whose archive name it never saw
// is matched to the `.gz` by content.
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { GzReader, baseName, gzSize, isGz } from './gz-read.js';
import { join, resolve } from 'node:path';
import { type Convention } from '../core/tai64n.js';
import { type Cursor } from '../core/cursor.js';
import { FatalError, UsageError, describeError } from '../core/errors.js';
import { decodeUtf8, isJsonLogLine, parseJsonLog, unixStamp } from '../core/logline.js';
import { isHeaderMessage } from '../core/logfile-format.js';
import { MergeHeap, mergeArrays } from '../core/merge.js';
import { type LocalCalendar, TimeSpecError, parseTimeSpec } from '../core/timespec.js';
import { type Stamp, takeStamp, parseStamp, lineHash, formatStamp } from '../core/logline.js';
import { type DirPosition, type Listed, candidates } from '../core/cursor.js';

const ARCHIVE_RE = /^@[0-9a-fA-F]{24}\.[su](\.gz)?$/;

/**
 * The readable files of a log directory in reading order (archives by name, previous, current); `skip`
 * names archives not to stat (--since rules them out by name).
 *
 * `current` and `previous` are stat'ed (or opened) before the directory is read: every file older than that
 * `current` has its archive name (or is `previous`) by then, and names only come later, so the listing
 * misses no file older than the `current` it lists, however fast the logger rotates meanwhile. (Reading
 * the names first and stat'ing them after could list a newer `current` without the archive in between;
 * comparing two reads of the names did not help once the logger rotated faster than the listing
 * finished: `tail -f` printed a whole file after the start of the next one, with multilog, svlogd and
 * s6-log rotating small files at full speed.) A live file that was archived meanwhile is listed once,
 * under its archive name (it is finished).
 */
export function listLogdir(dir: string, curFile = 'current', skip?: (name: string) => boolean, open = false): LiveListed[] {
  const live = open ? openListed : statListed;
  const cur = live(dir, curFile, 'current');
  const prev = live(dir, 'previous', 'previous');
  const out: LiveListed[] = [];
  const inos = new Set<number>();
  for (const name of archiveNames(dir)) {
    // (an archive ruled out by its name is listed without a stat: ino -1, size 0)
    if (skip?.(name)) {
      out.push({ name, ino: -1, size: 0 });
      continue;
    }
    const f = statListed(dir, name, name);
    if (f) {
      out.push(f);
      inos.add(f.ino);
    }
  }
  for (const f of [prev, cur]) {
    if (f === null) continue;
    const archived = inos.has(f.ino) ? out.find((a) => a.ino === f.ino) : undefined;
    if (archived) {
      // rotated meanwhile, and listed under its archive name: read from the descriptor all the same
      // (the name may go before it is opened)
      if (f.fd !== undefined) {
        if (archived.fd === undefined) archived.fd = f.fd;
        else closeSync(f.fd);
      }
      continue;
    }
    inos.add(f.ino);
    // A current that was rotated and removed by retention while the names were read (no name left) is
    // older than every archive listed: retention removes the oldest first, and the archives listed
    // after it may be newer. (Listed last, it was printed after newer files: svlogd, s4096 n3.)
    if (f === cur && f.fd !== undefined && fstatSync(f.fd).nlink === 0) out.unshift(f);
    else out.push(f);
  }
  return out;
}

/** A listed file; `current` and `previous` come with an open descriptor when listed with `open`. */
export interface LiveListed extends Listed {
  fd?: number;
}

/**
 * Opens a live file for the listing: the descriptor keeps the very file that was listed (its name may
 * move before it is queued; its inode could be reused after a deletion). Null when absent.
 */
function openListed(dir: string, file: string, name: string): LiveListed | null {
  let fd: number;
  try {
    // (non-blocking: a FIFO by that name would block the open until a writer came; it is not listed)
    fd = openSync(join(dir, file), fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return null;
  }
  return { name, ino: st.ino, size: st.size, fd };
}

/** Closes the descriptors of listed live files that were not queued. */
function closeUnqueued(files: readonly LiveListed[], queued: readonly Queued[]): void {
  const kept = new Set(queued.map((q) => q.fd));
  for (const f of files) if (f.fd !== undefined && !kept.has(f.fd)) closeSync(f.fd);
}

/** A regular file of the directory as listed; null when it is absent (removed meanwhile, or no previous). */
function statListed(dir: string, file: string, name: string): LiveListed | null {
  try {
    const st = statSync(join(dir, file));
    if (!st.isFile()) return null;
    return { name, ino: st.ino, size: isGz(name) ? uncompressedSize(join(dir, file), st.size) : st.size };
  } catch {
    return null;
  }
}

/** A compressed archive's uncompressed size (from its trailer), or its own size when unreadable. */
function uncompressedSize(path: string, size: number): number {
  try {
    const fd = openSync(path, 'r');
    try {
      const n = gzSize(fd, size);
      return n < 0 ? size : n;
    } finally {
      closeSync(fd);
    }
  } catch {
    return size;
  }
}

/** The archive names of a directory, in reading order. */
function archiveNames(dir: string): string[] {
  const names = readdirSync(dir);
  const have = new Set(names);
  return (
    names
      // NAME.gz next to NAME: the compressor renamed it and is about to remove NAME (same bytes): one of them.
      .filter((n) => ARCHIVE_RE.test(n) && !(isGz(n) && have.has(baseName(n))))
      // By label (case aside), then by name: sorted as "label/name" strings ("/" is in no file name), with
      // no comparator to call (start-up counts for --since, issue 5).
      .map((n) => `${n.slice(0, 25).toLowerCase()}/${n}`)
      .sort()
      .map((k) => k.slice(26))
  );
}

/** The stamp in an archive's name (the moment it was finished), or null for current/previous. */
export function archiveStamp(name: string): Stamp | null {
  return name.startsWith('@') ? parseStamp(name.slice(0, 25).toLowerCase()) : null;
}

export interface Queued {
  name: string;
  ino: number;
  /** Byte offset to start at. */
  start: number;
  /** Already open (current, previous). */
  fd?: number;
}

export interface ReaderOptions {
  /** Service label printed with each line. */
  service: string;
  /** Tie-break rank in a merge (order of the directories on the command line). */
  rank: number;
  /** Keep a copy of the last line handed out (for cursors). */
  track?: boolean;
  /** Called with a warning text (no prefix). */
  warn?: (text: string) => void;
  /** Stamp for unlabelled lines before any labelled one. */
  initialStamp?: Stamp;
  /** The live file's real name ("current"; the restart journal's is "journal.jsonl"). */
  curFile?: string;
  /** Lines are JSON objects whose "tai64n" field is their stamp (the restart journal). */
  jsonStamp?: boolean;
}

/** Size of a reader's buffer (it grows only for a longer line). */
export const CHUNK = 1 << 20;
const TAI_FIELD = Buffer.from('"tai64n":"');

/**
 * Reads one log directory line by line across its files. `next()` advances to the next complete line
 * (false: nothing more for now); the line is `buf.subarray(ls, le)` (without "\n"), its stamp `stamp`
 * (its label, or the last label seen before it when it has none: `labelled` false).
 */
export class DirReader {
  readonly stamp: Stamp = { tai: 0, nano: 0 };
  readonly rank: number;
  readonly service: string;
  /** The live file's real name. */
  readonly curFile: string;
  private readonly json: boolean;
  /** The line's stamp is exact (its label, or a JSON tai64n field), not inherited. */
  exact = false;
  buf: Buffer = Buffer.allocUnsafe(CHUNK);
  /** `buf` as a plain Uint8Array: its subarray() is much cheaper than a Buffer's (the -o raw copy path). */
  view: Uint8Array = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  ls = 0;
  le = 0;
  labelled = false;
  /** The line ends with "\n" in buf (at `le`): false only for a finished file's unterminated last line. */
  nl = false;
  /** Called before the bytes of lines already handed out may be overwritten (a consumer holding on to them copies them now). */
  beforeMove: (() => void) | null = null;
  /** Lines at or before this stamp are not to be given (a cursor resumed by time). */
  after: Stamp | null = null;
  /** Name, inode and end offset (after "\n") of the current line's file. */
  fileName = '';
  fileIno = -1;
  lineEnd = 0;

  private queue: Queued[] = [];
  private fd = -1;
  private finished = true; // the open file will not grow (an archive, or current after rotation)
  private bufFile = 0; // file offset of buf[0]
  /** Next unread byte in buf (the raw fast path, io/raw-merge.ts, advances it over the lines it took). */
  pos = 0;
  private end = 0; // end of valid data in buf
  /** After chunk(): buf[pos, lim) holds whole lines, each ending with "\n". */
  lim = 0;
  private eof = false;
  /** Archives accounted for, by archiveKey. */
  private readonly seenNames = new Set<string>();
  /** Files that were current (or previous) and are finished, kept open until their archive name is seen. */
  private pending: { fd: number; ino: number }[] = [];
  private lastLine: Buffer | null = null;
  private lastLabelled = false;
  private lastPos: DirPosition | null = null;

  constructor(readonly dir: string, private readonly opts: ReaderOptions) {
    this.rank = opts.rank;
    this.service = opts.service;
    this.curFile = opts.curFile ?? 'current';
    this.json = opts.jsonStamp === true;
    if (opts.initialStamp) {
      this.stamp.tai = opts.initialStamp.tai;
      this.stamp.nano = opts.initialStamp.nano;
    }
  }

  /**
   * Queues files to read, in order; every archive name in `seen` is accounted for from now on.
   * `current` and `previous` are opened at once: their names move, the open fd keeps the file (and its
   * inode number, which a new file could otherwise reuse after a deletion).
   */
  enqueue(files: Queued[], seen: readonly Listed[]): boolean {
    const opened: Queued[] = [];
    for (const f of files) {
      if ((f.name === 'current' || f.name === 'previous') && f.fd === undefined) {
        let fd: number;
        try {
          fd = openSync(this.path(f.name), 'r');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          fd = -1;
        }
        const ino = fd >= 0 ? fstatSync(fd).ino : -1;
        if (ino !== f.ino) {
          // Rotated between the listing and the open: the caller lists again.
          if (fd >= 0) closeSync(fd);
          for (const o of opened) if (o.fd !== undefined) closeSync(o.fd);
          return false;
        }
        opened.push({ ...f, fd });
      } else opened.push(f);
    }
    for (const f of seen) if (f.name !== 'current' && f.name !== 'previous') this.seenNames.add(archiveKey(f.name));
    this.queue.push(...opened);
    return true;
  }

  /**
   * The live file's descriptor and the offset of its first byte not yet handed out (a partial line's
   * start), when the reader is at the live file with nothing else queued; else null (the native
   * follower, io/native-follow.ts, goes on from there).
   */
  liveOffset(): { fd: number; offset: number } | null {
    if (this.fd < 0 || this.finished || this.queue.length > 0) return null;
    return { fd: this.fd, offset: this.bufFile + this.pos };
  }

  /** True while a file is open or queued. */
  get active(): boolean {
    return this.fd >= 0 || this.queue.length > 0;
  }

  /** Advances to the next complete line; false when none is available now. */
  next(): boolean {
    for (;;) {
      if (this.fd < 0 && !this.openNext()) return false;
      const nl = this.end > this.pos ? this.buf.indexOf(10, this.pos) : -1;
      if (nl >= 0 && nl < this.end) {
        this.setLine(this.pos, nl, nl + 1);
        return true;
      }
      if (this.fill()) continue;
      // End of the file's data for now.
      if (this.end > this.pos && this.finished) {
        this.setLine(this.pos, this.end, this.end); // a finished file's last line without "\n"
        return true;
      }
      if (!this.finished) return false; // current: wait for more (a partial line stays unread)
      this.closeFile();
    }
  }

  /**
   * Bulk reading, for the -o raw fast path (io/raw-merge.ts): makes buf[pos, lim) one or more whole
   * lines, each ending with "\n" (a finished file's last line without one gets it here, as next() would
   * have it printed). The caller consumes lines by advancing `pos` up to `lim`, and copies what it keeps
   * before it calls chunk() again (the bytes may move). False when no line is available now.
   */
  chunk(): boolean {
    this.lim = 0; // (until lines are found: the bytes may move, another file may open)
    for (;;) {
      if (this.fd < 0 && !this.openNext()) return false;
      if (this.end > this.pos) {
        // (data read whole ends with "\n": no call into Buffer's lastIndexOf, which is C++, for it)
        const last = this.buf[this.end - 1] === 10 ? this.end - 1 : this.buf.lastIndexOf(10, this.end - 1);
        if (last >= this.pos) {
          this.lim = last + 1;
          return true;
        }
      }
      if (this.fill()) continue;
      if (this.end > this.pos && this.finished) {
        if (this.end === this.buf.length) this.grow();
        // (end now counts one byte past the end of the file: the next read there finds nothing, as it
        // would at the end)
        this.buf[this.end++] = 10;
        this.lim = this.end;
        return true;
      }
      if (!this.finished) return false;
      this.closeFile();
    }
  }

  /**
   * Reads into `b` from now on (a view of the fast path's shared memory): the unread bytes move there.
   * False (nothing changes) when they do not fit.
   */
  useBuffer(b: Buffer): boolean {
    const n = this.end - this.pos;
    if (n > b.length) return false;
    this.buf.copy(b, 0, this.pos, this.end);
    this.bufFile += this.pos;
    this.pos = 0;
    this.end = n;
    this.lim = 0;
    this.setBuffer(b);
    return true;
  }

  private setBuffer(b: Buffer): void {
    this.buf = b;
    this.view = new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  private grow(): void {
    const bigger = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(bigger, 0, 0, this.end);
    this.setBuffer(bigger);
  }

  private setLine(s: number, e: number, next: number): void {
    this.ls = s;
    this.le = e;
    this.pos = next;
    this.lineEnd = this.bufFile + next;
    this.nl = next > e;
    this.labelled = takeStamp(this.buf, s, e, this.stamp);
    // (unlabelled: keeps the stamp of the previous line)
    // A %json line (recognised per line) is stamped by its "tai64n" field, like the journal's.
    this.exact = this.labelled || ((this.json || isJsonLogLine(this.buf, s, e)) && this.jsonStamp(s, e));
  }

  /** The stamp of a journal line: its "tai64n":"@..." field. */
  private jsonStamp(s: number, e: number): boolean {
    const at = this.buf.indexOf(TAI_FIELD, s);
    return at >= 0 && at + TAI_FIELD.length + 25 <= e && takeStamp(this.buf, at + TAI_FIELD.length, at + TAI_FIELD.length + 25, this.stamp);
  }

  /** The path of a file of this directory ("current" is the live file, whatever its real name). */
  path(name: string): string {
    return join(this.dir, name === 'current' ? this.curFile : name);
  }

  /**
   * Following (set by Engine.follow, which calls refresh or rearm at every wake-up): a read of the live
   * file that comes back short reached its end, and a read before the next wake-up would find nothing
   * new, since whatever is appended later comes with an event of its own (inotify sends a write's event
   * after its bytes are readable). That spares the follow path a second read before the write of an
   * append (issue 5's follow latency). Not following, every read goes on to the end of the file.
   */
  following = false;
  private drained = false;

  /** Following: a wake-up (an event, the poll) with no refresh: the live file may have grown. */
  rearm(): void {
    this.drained = false;
  }

  /** Called when the live file was truncated (the native follower forgets what it wrote of it). */
  onTruncate: (() => void) | null = null;

  /**
   * Following, nothing more to read: was the live file truncated below what was read of it (`: >
   * current`, as `tail -F` sees it)? Then it is followed again from its start, with a warning, and
   * a partial line read from the old contents is dropped.
   */
  private truncated(): boolean {
    const size = fstatSync(this.fd).size;
    if (size >= this.bufFile + this.end) return false;
    this.restartNow(size);
    return true;
  }

  private restart = false;

  /**
   * The live file is to be read again from its start (the native follower saw it truncated below what it
   * wrote, which may be beyond what this reader read): done at the next read, where the positions are
   * this reader's own (the -o raw merge keeps them between reads).
   */
  restartLive(): void {
    this.restart = true;
  }

  private restartNow(size = fstatSync(this.fd).size): void {
    this.opts.warn?.(`${this.dir}: ${this.curFile} was truncated (to ${size} bytes): following it from its start`);
    this.bufFile = 0;
    this.pos = 0;
    this.end = 0;
    this.lim = 0;
    this.drained = false;
    this.onTruncate?.();
  }

  /** Reads more of the open file into buf; false at (current) end of file. */
  private fill(): boolean {
    if (this.restart) {
      this.restart = false;
      if (this.fd >= 0 && !this.finished) this.restartNow(); // (its bytes stay for beforeMove, below)
    }
    if (this.drained && !this.finished) return false;
    this.beforeMove?.();
    if (this.pos > 0 && (this.end === this.buf.length || this.eof)) {
      // Move the unread tail to the front.
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.bufFile += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) this.grow();
    let n: number;
    const want = this.buf.length - this.end;
    if (this.gz === null) {
      n = readSync(this.fd, this.buf, this.end, want, this.bufFile + this.end);
      this.drained = this.following && n < want && !this.finished;
      if (n === 0 && this.following && !this.finished && this.truncated()) return this.fill();
    } else {
      try {
        n = this.gz.read(this.buf, this.end, this.buf.length - this.end, this.bufFile + this.end);
      } catch (e) {
        this.opts.warn?.(`${this.dir}: unable to decompress ${this.fileName}: ${describeError(e)}: the rest of it is skipped`);
        n = 0;
      }
    }
    this.end += n;
    this.eof = n === 0;
    return n > 0;
  }

  private openNext(): boolean {
    this.beforeMove?.();
    for (;;) {
      const f = this.queue.shift();
      if (!f) return false;
      let fd = f.fd ?? -1;
      let name = f.name;
      if (fd < 0) {
        try {
          fd = openSync(this.path(name), 'r');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          // Compressed meanwhile (%gzip): the same bytes are in NAME.gz; or replaced by the processor's
          // output (svlogd: @x.u, then @x.s): the same label, another suffix.
          if (ARCHIVE_RE.test(name)) {
            const label = name.slice(0, 25);
            for (const alt of [`${baseName(name)}.gz`, `${label}.s`, `${label}.s.gz`, `${label}.u`, `${label}.u.gz`]) {
              if (alt === name) continue;
              try {
                fd = openSync(this.path(alt), 'r');
                name = alt;
                break;
              } catch (e2) {
                if ((e2 as NodeJS.ErrnoException).code !== 'ENOENT') throw e2;
              }
            }
          }
          if (fd < 0) {
            this.opts.warn?.(`${this.dir}: ${f.name} was removed before it was read: its lines are skipped`);
            continue;
          }
        }
      }
      const st = fstatSync(fd);
      this.gz?.close();
      this.gz = isGz(name) ? new GzReader(fd) : null;
      const size = this.gz ? gzSize(fd, st.size) : st.size;
      this.fd = fd;
      this.fileName = name;
      this.fileIno = st.ino;
      this.wasLive = f.name === 'current' || f.name === 'previous';
      this.finished = f.name !== 'current';
      this.bufFile = f.start;
      this.pos = 0;
      this.end = 0;
      this.eof = false;
      this.drained = false;
      if (size >= 0 && f.start > size) {
        this.opts.warn?.(`${this.dir}: ${f.name} is shorter than the position to resume at: reading it from the start`);
        this.bufFile = 0;
      }
      return true;
    }
  }

  private wasLive = false;
  private gz: GzReader | null = null;

  private closeFile(): void {
    if (this.fd < 0) return;
    // A file that was current/previous keeps its fd until its archive name shows up in a listing, so
    // that name is recognised as already read (and its inode cannot be reused meanwhile).
    // (Also when it has no name left: %gzip may have compressed and removed its archive, whose .gz is
    // then matched by content.)
    const archived = this.archived.delete(this.fileIno);
    this.gz?.close();
    this.gz = null;
    if (this.wasLive && !archived) this.pending.push({ fd: this.fd, ino: this.fileIno });
    else closeSync(this.fd);
    while (this.pending.length > 8) closeSync(this.pending.shift()!.fd);
    this.fd = -1;
  }

  /** Inodes of every file held open (being read, queued, or finished and awaiting its archive name). */
  private held(): Set<number> {
    const s = new Set<number>();
    if (this.fd >= 0) s.add(this.fileIno);
    for (const q of this.queue) if (q.fd !== undefined) s.add(q.ino);
    for (const p of this.pending) s.add(p.ino);
    return s;
  }

  /**
   * Following: called when the directory may have changed. If `current` is no longer the file being
   * read, that file is finished (its rest is read from the open fd) and every file not yet seen is
   * queued after it. Returns true when something new was queued.
   */
  refresh(): boolean {
    this.drained = false;
    let curIno = -1;
    try {
      curIno = statSync(this.path('current')).ino;
    } catch {
      // no current (logger not started yet, or mid-rotation in svlogd): look again later
    }
    let rotated = false;
    if (this.fd >= 0 && !this.finished) {
      if (curIno === this.fileIno || curIno < 0) return false;
      this.finished = true; // rotated: drain the fd, then go on
      rotated = true;
    } else if (this.queue.length > 0) {
      return false; // still reading older files
    } else if (this.fd >= 0 || (curIno >= 0 && this.held().has(curIno))) {
      return false; // reading a finished file; or nothing new
    }
    const files = listLogdir(this.dir, this.curFile, undefined, true);
    const held = this.held();
    // (a file still listed as previous is the processor's input: its output may already be listed)
    const present = new Set(files.filter((f) => f.name !== 'previous').map((f) => f.ino));
    const add: Queued[] = [];
    const names: Listed[] = [];
    const release = new Set<number>();
    /** Live files matched by content in this listing: each is one archive at most. */
    const used = new Set<number>();
    let matched = false;
    for (let f of files) {
      if (f.name === 'current' || f.name === 'previous') {
        // (multilog links previous to its archive name before unlinking it: both may be listed)
        if (!held.has(f.ino)) add.push({ name: f.name, ino: f.ino, start: 0, fd: f.fd });
        held.add(f.ino);
      } else if (!this.seenNames.has(archiveKey(f.name))) {
        names.push(f);
        // Its archive name is now known: a live file being read (or queued) needs no pending fd later.
        // An archive with an inode of its own may still hold the bytes of a live file: a .gz (the
        // logger's %gzip), or a processor's output (multilog, svlogd, s6-log `!cmd`: `processed`
        // becomes the archive, `previous` is removed; `!cat` gives the same bytes): found by content.
        const live = !held.has(f.ino) ? this.sameContentAs(f, present, used) : -1;
        if (live >= 0) {
          if (live === this.fileIno) matched = true;
          f = { ...f, ino: live };
        }
        const p = this.pending.findIndex((x) => x.ino === f.ino);
        if (p < 0 && held.has(f.ino)) this.archived.add(f.ino);
        if (p >= 0) release.add(p);
        else if (!held.has(f.ino)) add.push({ name: f.name, ino: f.ino, start: 0, fd: f.fd });
        held.add(f.ino);
      }
    }
    closeUnqueued(files, add);
    this.enqueue(add, names); // (the live files come open: nothing to find moved)
    for (const p of [...release].sort((a, b) => b - a)) closeSync(this.pending.splice(p, 1)[0]!.fd);
    if (rotated && !matched && !files.some((f) => f.ino === this.fileIno) && add.some((f) => f.name.startsWith('@'))) {
      this.opts.warn?.(
        `${this.dir}: log files were rotated and removed faster than they were read: lines written after ${this.lastLabelText()} and before the oldest remaining file may be missing`,
      );
    }
    return add.length > 0;
  }

  /**
   * The inode of the live file (being read, queued, or finished and pending) whose bytes the archive `f`
   * (not one of those files) holds, or -1: same size (a .gz: its uncompressed size, from the gzip
   * trailer) and same bytes. Only a live file gone from the directory (`present`: the listing's inodes)
   * under every name qualifies, as a file the logger replaced: two files of equal bytes that both
   * exist (a log without `t` repeating itself) are two files, both read. A processor that changes the
   * bytes makes a new file, which is read.
   */
  private sameContentAs(f: Listed, present: ReadonlySet<number>, used: Set<number>): number {
    const gz = isGz(f.name);
    const live: { fd: number; ino: number }[] = [...this.pending];
    if (this.fd >= 0 && this.wasLive) live.push({ fd: this.fd, ino: this.fileIno });
    for (const q of this.queue) if (q.fd !== undefined && q.fd >= 0) live.push({ fd: q.fd, ino: q.ino });
    for (const l of live) {
      if (present.has(l.ino) || used.has(l.ino)) continue;
      const size = fstatSync(l.fd).size;
      if (size === 0 || (gz ? size % 2 ** 32 : size) !== f.size) continue;
      if (sameBytes(l.fd, this.path(f.name), size)) {
        used.add(l.ino);
        return l.ino;
      }
    }
    return -1;
  }

  /** Inodes of live files (open or queued) whose archive name has already been listed. */
  private readonly archived = new Set<number>();

  private lastLabelText(): string {
    return this.lastPos?.label ?? (this.stamp.tai === 0 ? 'the start' : formatStamp(this.stamp));
  }

  /** Marks the current line as handed out (for the cursor). */
  markGiven(): void {
    if (this.opts.track) {
      this.lastLine = Buffer.from(this.buf.subarray(this.ls, this.le));
      this.lastLabelled = this.labelled;
      this.lastPos = null;
      this.lastGiven = { file: baseName(this.fileName), ino: this.fileIno, offset: this.lineEnd };
    }
  }

  private lastGiven: { file: string; ino: number; offset: number } | null = null;

  /** The position after the last line handed out, or null when none was. */
  position(): DirPosition | null {
    if (this.lastPos) return this.lastPos;
    if (!this.lastGiven || !this.lastLine) return null;
    const l = this.lastLine;
    this.lastPos = {
      ...this.lastGiven,
      label: this.lastLabelled ? l.subarray(0, 25).toString('latin1').toLowerCase() : null,
      hash: lineHash(l),
    };
    return this.lastPos;
  }

  /** The stamp unlabelled lines get until a labelled one is read. */
  setInitialStamp(s: Stamp): void {
    this.stamp.tai = s.tai;
    this.stamp.nano = s.nano;
  }

  /** Starts from a known position (resuming a cursor): nothing before it counts as given. */
  setPosition(p: DirPosition): void {
    this.lastPos = p;
  }

  /** Bytes not yet read: the rest of the open file and every queued file. */
  behind(): number {
    let n = 0;
    if (this.fd >= 0) {
      const size = fstatSync(this.fd).size;
      n += Math.max(0, (this.gz ? gzSize(this.fd, size) : size) - (this.bufFile + this.pos));
    }
    for (const f of this.queue) {
      try {
        const size = statSync(this.path(f.name)).size;
        n += Math.max(0, (isGz(f.name) ? uncompressedSize(this.path(f.name), size) : size) - f.start);
      } catch {
        // removed meanwhile
      }
    }
    if (this.fd < 0 && this.queue.length === 0 && this.lastGiven?.file === 'current') {
      try {
        const st = statSync(this.path('current'));
        if (st.ino === this.lastGiven.ino) n += Math.max(0, st.size - this.lastGiven.offset);
      } catch {
        // no current
      }
    }
    return n;
  }

  close(): void {
    this.gz?.close();
    this.gz = null;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    for (const q of this.queue) if (q.fd !== undefined) closeSync(q.fd);
    for (const p of this.pending) closeSync(p.fd);
    this.queue = [];
    this.pending = [];
  }
}

/**
 * Does the line that ends at `offset` in `file` match the saved label and hash? (The check that makes
 * a cursor safe against rewritten or foreign files.)
 */
export function lineEndsAt(dir: string, file: string, offset: number, label: string | null, hash: string): boolean {
  if (offset === 0) return hash === '';
  let fd: number;
  try {
    fd = openSync(join(dir, file), 'r');
  } catch {
    return false;
  }
  const gz = isGz(file) ? new GzReader(fd) : null;
  const readAt = (b: Buffer, from: number): number => {
    if (!gz) return readSync(fd, b, 0, b.length, from);
    let got = 0;
    for (let k; got < b.length && (k = gz.read(b, got, b.length - got, from + got)) > 0; ) got += k;
    return got;
  };
  try {
    let want = 4096;
    for (;;) {
      const from = Math.max(0, offset - want);
      const b = Buffer.allocUnsafe(offset - from);
      let n: number;
      try {
        n = readAt(b, from);
      } catch {
        return false; // corrupt .gz
      }
      if (n !== b.length) return false;
      const last = b[b.length - 1] === 10 ? b.length - 1 : b.length;
      const nl = b.lastIndexOf(10, last - 1);
      if (nl < 0 && from > 0) {
        want *= 4;
        continue;
      }
      const line = b.subarray(nl + 1, last);
      if (lineHash(line) !== hash) return false;
      if (label === null) return true;
      return line.subarray(0, 25).toString('latin1').toLowerCase() === label;
    }
  } finally {
    gz?.close();
    closeSync(fd);
  }
}

/** Does the gzip file at `path` hold exactly the first `size` bytes of the file open at `fd` (and no more)? */
/**
 * What identifies an archive: its label, whatever follows. `@x.s.gz` is `@x.s` compressed; and svlogd
 * with a processor renames current to `@x.u`, then replaces it with the processor's output as `@x.s`:
 * the same lines (a processor's failure leaves the `.u`), already read under the first name.
 */
function archiveKey(name: string): string {
  return ARCHIVE_RE.test(name) ? name.slice(0, 25) : baseName(name);
}

function sameBytes(fd: number, path: string, size: number): boolean {
  let gfd: number;
  try {
    gfd = openSync(path, 'r');
  } catch {
    return false;
  }
  const gz = isGz(path) ? new GzReader(gfd) : null;
  const a = Buffer.allocUnsafe(1 << 16);
  const b = Buffer.allocUnsafe(1 << 16);
  try {
    for (let at = 0; ; ) {
      const n = gz ? gz.read(a, 0, a.length, at) : readSync(gfd, a, 0, a.length, at);
      if (n === 0) return at === size;
      if (at + n > size || readSync(fd, b, 0, n, at) !== n || a.compare(b, 0, n, 0, n) !== 0) return false;
      at += n;
    }
  } catch {
    return false;
  } finally {
    gz?.close();
    closeSync(gfd);
  }
}

/** The service label of a log directory: NAME for .../NAME/log/main, else its base name. */
export function serviceOf(dir: string): string {
  const parts = dir.replace(/\/+$/, '').split('/');
  const n = parts.length;
  if (n >= 3 && parts[n - 1] === 'main' && parts[n - 2] === 'log' && parts[n - 3]) return parts[n - 3]!;
  return parts[n - 1] || dir;
}

/** A log directory to read and the service label its lines carry. */
export interface Target {
  dir: string;
  service: string;
  /** The restart journal (DIR/.upkeep/journal.jsonl) rather than a log directory. */
  journal?: boolean;
}

/** A line kept aside (for -n): its own bytes and stamp. */
export interface KeptLine {
  service: string;
  line: Buffer;
  labelled: boolean;
  exact: boolean;
  stamp: Stamp;
}

export interface StartOptions {
  /** Skip archives finished before this stamp (every line in them is older). */
  since?: Stamp | null;
  until?: Stamp | null;
}

/** Queues a whole directory (minus archives that --since/--until rule out) on a fresh reader. */
export function startAll(r: DirReader, o: StartOptions): void {
  // An archive's name is when it was finished: every line in it is older. (No such bound holds for
  // --until: multilog may stamp a line before it finishes the previous file, then write it to the new one.)
  // Archives that --since rules out by name are neither stat'ed nor opened (1 GB of archives: 250 names),
  // and compared as text: fixed-width lowercase hex labels sort as their stamps do.
  const since = o.since ? formatStamp(o.since) : null;
  const ruledOut = since ? (name: string): boolean => name.startsWith('@') && name.slice(0, 25).toLowerCase() < since : undefined;
  const files = listLogdir(r.dir, r.curFile, ruledOut, true);
  const q: Queued[] = [];
  let prev: string | null = null; // the last archive before this file
  for (const f of files) {
    if (!ruledOut?.(f.name)) {
      const p = q.length === 0 && prev !== null ? archiveStamp(prev) : null;
      if (p) r.setInitialStamp(p);
      q.push({ name: f.name, ino: f.ino, start: 0, fd: f.fd });
    }
    if (f.name.startsWith('@')) prev = f.name;
  }
  closeUnqueued(files, q);
  r.enqueue(q, files); // (the live files come open: nothing to find moved)
}

/**
 * Resumes a reader at a saved position. Returns a warning text when the position could not be found
 * (then the reader starts at the oldest file and `after` tells the caller to skip lines up to the
 * saved label), or null.
 */
export function startAt(r: DirReader, pos: DirPosition): string | null {
  const files = listLogdir(r.dir, r.curFile, undefined, true);
  const c = findPosition(r, files, pos);
  if (c) {
    const i = files.indexOf(c);
    const q: Queued[] = [{ name: c.name, ino: c.ino, start: pos.offset, fd: c.fd }];
    for (const f of files.slice(i + 1)) q.push({ name: f.name, ino: f.ino, start: 0, fd: f.fd });
    closeUnqueued(files, q);
    r.enqueue(q, files); // (the live files come open: nothing to find moved)
    const st = pos.label ? parseStamp(pos.label) : null;
    if (st) r.setInitialStamp(st);
    r.setPosition(pos);
    return null;
  }
  closeUnqueued(files, []);
  return startByTime(r, pos, files);
}

function findPosition(r: DirReader, files: LiveListed[], pos: DirPosition): LiveListed | null {
  // (candidates gives back the listing's own objects: the live ones keep their descriptors)
  for (const c of candidates(files, pos) as LiveListed[]) if (lineEndsAt(r.dir, c.name === 'current' ? r.curFile : c.name, pos.offset, pos.label, pos.hash)) return c;
  return null;
}

function startByTime(r: DirReader, pos: DirPosition, files: Listed[]): string {
  r.after = pos.label ? parseStamp(pos.label) : null;
  startAll(r, { since: r.after });
  const first = files.find((f) => f.name !== 'previous');
  return (
    `${r.dir}: the cursor's position (${pos.file}, offset ${pos.offset}, line ${pos.label ?? 'unlabelled'}) no longer exists ` +
    `(removed by retention, or the files were rewritten): resuming with the lines after ${pos.label ?? 'the start'}` +
    (first ? ` from ${first.name}; lines in removed files were skipped` : '')
  );
}

/**
 * The newest `n` lines of a directory that pass `keep`, oldest first; the reader is left at the end of
 * `current` (the place to follow from), and marks its last line as given.
 */
export function lastLines(r: DirReader, n: number, keep: (r: DirReader) => boolean, warn?: (t: string) => void): KeptLine[] {
  const files = listLogdir(r.dir, r.curFile, undefined, true);
  const cur = files.find((f) => f.name === 'current');
  const older = files.filter((f) => f.name !== 'current');
  const q: Queued[] = cur ? [{ name: 'current', ino: cur.ino, start: 0, fd: cur.fd }] : [];
  closeUnqueued(files, q);
  const take = (rd: DirReader, limit: number, mark: boolean): KeptLine[] => {
    const ring: KeptLine[] = [];
    while (rd.next()) {
      if (mark) rd.markGiven();
      if (limit === 0 || !keep(rd)) continue;
      if (ring.length === limit) ring.shift();
      ring.push({ service: rd.service, line: Buffer.from(rd.buf.subarray(rd.ls, rd.le)), labelled: rd.labelled, exact: rd.exact, stamp: { ...rd.stamp } });
    }
    return ring;
  };
  let out: KeptLine[] = [];
  if (cur) {
    const prev = archiveStamp(older[older.length - 1]?.name ?? '');
    if (prev) r.setInitialStamp(prev);
    r.enqueue(q, files);
    out = take(r, n, true);
  } else r.enqueue([], files);
  for (let i = older.length - 1; i >= 0 && out.length < n; i--) {
    const f = older[i]!;
    const tmp = new DirReader(r.dir, { service: r.service, rank: r.rank, warn });
    const p = archiveStamp(older[i - 1]?.name ?? '');
    if (p) tmp.setInitialStamp(p);
    tmp.enqueue([{ name: f.name, ino: f.ino, start: 0 }], []);
    out = take(tmp, n - out.length, false).concat(out);
    tmp.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The engine shared by `upkeep tail` and `upkeep export`: which directories, which lines, merged how.

export interface SourceOptions {
  targets: string[];
  dir?: string;
  logPath?: string;
  service?: string[];
  since?: string;
  until?: string;
  grep?: string;
  tai?: string;
  env?: NodeJS.ProcessEnv;
  /** Also read the restart journal DIR/.upkeep/journal.jsonl. */
  journal?: boolean;
}

/** The service label of the restart journal's lines. */
export const JOURNAL_SERVICE = 'upkeep-journal';

/** Resolves SERVICE names and LOGDIR paths to log directories with their service labels. */
export function resolveTargets(o: SourceOptions): Target[] {
  const env = o.env ?? process.env;
  const svdir = o.dir ?? (env.SVDIR || '/service');
  const logPath = o.logPath ?? 'log/main';
  let names = o.targets;
  if (names.length === 0) {
    let entries: string[];
    try {
      entries = readdirSync(svdir).sort();
    } catch (e) {
      throw new FatalError(`unable to read service directory ${svdir}`, e);
    }
    names = entries.filter((n) => !n.startsWith('.') && existsSync(join(svdir, n, logPath, 'current')));
    if (names.length === 0 && !o.journal) throw new FatalError(`unable to find services with logs in ${svdir}: none has ${logPath}/current`);
  }
  const out: Target[] = names.map((t) =>
    t.includes('/') ? { dir: resolve(t), service: serviceOf(resolve(t)) } : { dir: resolve(svdir, t, logPath), service: t },
  );
  for (const t of out) {
    let ok = false;
    try {
      ok = statSync(t.dir).isDirectory();
    } catch (e) {
      throw new FatalError(`unable to open log directory ${t.dir}`, e);
    }
    if (!ok) throw new FatalError(`unable to open log directory ${t.dir}: not a directory`);
  }
  const only = o.service && o.service.length > 0 ? new Set(o.service) : null;
  const picked = only ? out.filter((t) => only.has(t.service)) : out;
  if (o.journal) {
    const jdir = join(svdir, '.upkeep');
    if (!existsSync(join(jdir, 'journal.jsonl'))) throw new FatalError(`unable to open journal ${join(jdir, 'journal.jsonl')}: file does not exist`);
    picked.push({ dir: resolve(jdir), service: JOURNAL_SERVICE, journal: true });
  }
  return picked;
}

export function convention(tai: string | undefined): Convention {
  if (tai === undefined || tai === 'daemontools') return 'daemontools';
  if (tai === 's6') return 's6';
  throw new UsageError(`--tai must be daemontools or s6, not ${tai}`);
}

/** The local calendar the shared time grammar needs, from Node's own time zone. */
export const localCalendar: LocalCalendar = {
  fromLocal: (y, mo, d, h, mi, s) => new Date(y, mo - 1, d, h, mi, s).getTime() * 1000,
  startOfDay(us, days) {
    const t = new Date(us / 1000);
    return new Date(t.getFullYear(), t.getMonth(), t.getDate() + days).getTime() * 1000;
  },
  subDays(us, days) {
    const t = new Date(Math.floor(us / 1000));
    t.setDate(t.getDate() - days);
    return t.getTime() * 1000 + (us % 1000);
  },
};

/** A --since/--until value as a stamp in the run's convention. */
export function timeStamp(text: string | undefined, opt: string, conv: Convention, nowMicros: number, end = false): Stamp | null {
  if (text === undefined) return null;
  let us: number;
  try {
    us = parseTimeSpec(text, nowMicros, localCalendar);
  } catch (e) {
    if (e instanceof TimeSpecError) throw new UsageError(`${opt}: ${e.message}`);
    throw e;
  }
  const sec = Math.floor(us / 1e6);
  // The grammar has microseconds: an --until covers its whole microsecond (daemontools stamps end in 500 ns).
  return unixStamp(sec, (us - sec * 1e6) * 1000 + (end ? 999 : 0), conv);
}

export interface Filter {
  since: Stamp | null;
  until: Stamp | null;
  re: RegExp | null;
  /** Keep `%header` lines (default true; `upkeep tail` keeps them only for -o raw, export never). */
  headers?: boolean;
}

const HEADER_JSON = Buffer.from('"upkeep_header":true');

/** Is the reader's line an upkeep header line (`%header`: text, labelled or not, or JSON)? */
export function isHeaderLine(r: DirReader): boolean {
  const from = r.labelled ? Math.min(r.ls + 26, r.le) : r.ls;
  if (r.buf[from] === 117 /* u */ && isHeaderMessage(r.buf.subarray(from, r.le))) return true;
  return !r.labelled && isJsonLogLine(r.buf, r.ls, r.le) && r.buf.subarray(r.ls, Math.min(r.le, r.ls + 160)).indexOf(HEADER_JSON) >= 0;
}

/** The per-line filter: --since, --until, -g, and a resumed cursor's time limit. */
export function lineFilter(f: Filter): (r: DirReader) => boolean {
  const { since, until, re } = f;
  const headers = f.headers !== false;
  return (r) => {
    if (!headers && isHeaderLine(r)) return false;
    const s = r.stamp;
    if (since && (s.tai < since.tai || (s.tai === since.tai && s.nano < since.nano))) return false;
    if (until && (s.tai > until.tai || (s.tai === until.tai && s.nano > until.nano))) return false;
    if (r.after && (s.tai < r.after.tai || (s.tai === r.after.tai && s.nano <= r.after.nano))) return false;
    if (re) {
      const from = r.labelled ? Math.min(r.ls + 26, r.le) : r.ls;
      re.lastIndex = 0;
      // (a %json line: its message)
      const j = r.labelled || !isJsonLogLine(r.buf, r.ls, r.le) ? null : parseJsonLog(r.buf.subarray(r.ls, r.le));
      if (!re.test(j ? decodeUtf8(j.msg).text : r.buf.toString('utf8', from, r.le))) return false;
    }
    return true;
  };
}

export function compileGrep(g: string | undefined): RegExp | null {
  if (g === undefined) return null;
  try {
    return new RegExp(g);
  } catch (e) {
    throw new UsageError(`-g: bad regular expression: ${describeError(e)}`);
  }
}

/**
 * The shared engine: readers positioned (from a cursor, -n, or the start), one merge pass at a time,
 * and a follow loop woken by fs.watch on each directory (and a slow poll, in case events are missed).
 */
export class Engine {
  readers: DirReader[] = [];
  private heap = new MergeHeap<DirReader>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private kick: (() => void) | null = null;
  stopped = false;

  constructor(
    targets: Target[],
    private readonly keep: (r: DirReader) => boolean,
    private readonly track: boolean,
    private readonly warn: (t: string) => void,
    /** False when no filter can reject a line (the per-line call is skipped) unless a reader resumes by time. */
    private filtering = true,
  ) {
    this.readers = targets.map(
      (t, rank) =>
        new DirReader(t.dir, {
          service: t.service,
          rank,
          track,
          warn,
          ...(t.journal ? { curFile: 'journal.jsonl', jsonStamp: true } : {}),
        }),
    );
  }

  /** Positions every reader: from the cursor if it knows the directory, else -n, else --since/start. */
  start(cursor: Cursor | null, lines: number | null, since: Stamp | null, until: Stamp | null): KeptLine[] {
    const kept: KeptLine[][] = [];
    for (const r of this.readers) {
      const pos = cursor?.dirs[r.dir];
      if (pos) {
        const w = startAt(r, pos);
        if (w) this.warn(w);
        if (r.after) this.filtering = true;
      } else if (lines !== null) kept.push(lastLines(r, lines, this.keep, this.warn));
      else startAll(r, { since, until });
    }
    if (lines === null) return [];
    const all = mergeArrays(kept);
    return all.slice(Math.max(0, all.length - lines));
  }

  /** One merge pass over whatever lines are available now; `emit` gets each kept line. */
  async pass(emit: (r: DirReader) => void, full: () => boolean, flush: () => Promise<void>): Promise<void> {
    const heap = this.heap;
    const keep = this.filtering ? this.keep : null;
    const track = this.track;
    for (const r of this.readers) if (r.next()) heap.push(r);
    for (let t = heap.top(); t !== undefined; t = heap.top()) {
      if (keep === null || keep(t)) emit(t);
      if (track) t.markGiven();
      if (t.next()) {
        if (!heap.topStillFirst()) heap.update();
      } else heap.pop();
      if (full()) await flush();
      if (this.stopped) break;
    }
    while (heap.pop() !== undefined);
    await flush();
  }

  /** Follows until stop(): each wake-up refreshes every reader and runs a pass. */
  follow(pass: () => Promise<void>, pollMs = 2000, watchers?: (r: DirReader, wake: (dirty: boolean) => void) => boolean): Promise<void> {
    // A directory is listed again (refresh: a stat of current, and more after a rotation) when an event
    // other than "current changed" came from it, and at every poll; an append to current, the common
    // event, needs only the read from the open fd (the path from the event to the write is part of
    // issue 5's follow latency target).
    // The pass runs from the fs.watch callback itself, not after a promise it resolves: the read and
    // the write of an append happen before the callback returns (a wake-up through a promise, a
    // microtask and a resumed async function cost ~5 µs of the ~70 µs from the event to the write,
    // measured with hrtime marks against the kernel's trace; bench/README.md). A wake-up during a pass
    // (a write waiting for stdout, a slow export) runs one more pass after it.
    const dirty = this.readers.map(() => true);
    for (const r of this.readers) r.following = true;
    return new Promise<void>((resolve, reject) => {
      let running = false;
      let again = false;
      const finish = (): void => {
        this.kick = null;
        resolve();
      };
      const run = async (): Promise<void> => {
        running = true;
        try {
          do {
            again = false;
            for (let i = 0; i < this.readers.length; i++) {
              const r = this.readers[i]!;
              if (!dirty[i]) {
                r.rearm();
                continue;
              }
              try {
                r.refresh();
                dirty[i] = false;
              } catch (e) {
                // The directory went away or became unreadable: say so once per wake-up, keep the others going.
                this.warn(`unable to read log directory ${r.dir}: ${describeError(e)}`);
              }
            }
            await pass();
          } while (again && !this.stopped);
        } catch (e) {
          this.stop();
          reject(e);
          return;
        } finally {
          running = false;
        }
        if (this.stopped) finish();
      };
      const wake = (): void => {
        if (this.stopped) return;
        if (running) again = true;
        else void run();
      };
      // stop() ends the follow at once when no pass is running, else when the pass returns.
      this.kick = () => {
        if (!running) finish();
      };
      if (this.stopped) return finish();
      this.readers.forEach((r, i) => {
        // (the native follower, io/native-follow.ts, watches a directory itself where it runs)
        if (
          watchers?.(r, (d) => {
            if (d) dirty[i] = true;
            wake();
          })
        )
          return;
        try {
          this.watchers.push(
            watch(r.dir, { persistent: true }, (type, name) => {
              if (type !== 'change' || name !== r.curFile) dirty[i] = true;
              wake();
            }),
          );
        } catch (e) {
          this.warn(`unable to watch ${r.dir}: ${describeError(e)}: polling every ${pollMs} ms`);
        }
      });
      this.timer = setInterval(() => {
        dirty.fill(true);
        wake();
      }, pollMs);
      wake();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    this.kick?.();
  }

  /** The cursor after the lines given so far (directories never read keep their old position). */
  cursor(old: Cursor | null): Cursor {
    const dirs: Record<string, DirPosition> = { ...(old?.dirs ?? {}) };
    for (const r of this.readers) {
      const p = r.position();
      if (p) dirs[r.dir] = p;
    }
    return { dirs };
  }

  close(): void {
    this.stop();
    for (const r of this.readers) r.close();
  }
}

