// Reading restart journals fast: a service tree's journal (DIR/.upkeep/journal*.jsonl[.gz], oldest first by
// first event), single files, or JSON lines on stdin. Streams line by line on Buffers; a cheap look at the
// raw bytes (`"event":"NAME"`) skips the events the caller does not need without JSON.parse, so a long
// journal of normal operation costs little more than reading it. Truncated, corrupt and unknown lines
// are counted, never fatal.
import { closeSync, createReadStream, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { EVENT_NAMES, JOURNAL_DIR, countLine, parseLine, type JournalRecord, type LineCounts } from '../core/journal.js';
import { FatalError } from '../core/errors.js';

export type Source = { kind: 'dir'; dir: string } | { kind: 'file'; path: string } | { kind: 'stdin' };

export interface ReadOptions {
  /** Events to parse and hand over; the others are counted as skipped. */
  want: ReadonlySet<string>;
  onRecord(r: JournalRecord): void;
  counts: LineCounts;
  /** Called with bytes read so far (compressed bytes for archives) and the total size of the inputs. */
  onProgress?(done: number, total: number): void;
  /** Test hook: runs after a tree's files are opened, before they are read (e.g. to rotate meanwhile). */
  afterOpen?(): void | Promise<void>;
  stdin?: Readable;
}

export interface ReadSummary {
  files: string[];
  /** Files that vanished or failed part-way (a gzip archive cut short, a file removed by retention). */
  problems: string[];
}

const JOURNAL_NAME = /^journal.*\.jsonl(\.gz)?$/;
const KEY = Buffer.from('"event":"');
const KNOWN = new Set<string>(EVENT_NAMES);

interface Opened {
  path: string;
  fd: number;
  gz: boolean;
  size: number;
  first: number; // time of the first event, UNIX microseconds (Infinity if none)
}

/** The journal files of a tree, opened, oldest first. Retries when a rotation happens while listing. */
export async function openTree(dir: string, afterOpen?: () => void | Promise<void>): Promise<Opened[]> {
  const jdir = join(dir, JOURNAL_DIR);
  for (let attempt = 0; ; attempt++) {
    let names: string[];
    try {
      names = readdirSync(jdir).filter((n) => JOURNAL_NAME.test(n));
    } catch (err) {
      throw new FatalError(`unable to read directory ${jdir}`, err);
    }
    if (names.length === 0) throw new FatalError(`unable to read journal in ${jdir}: no journal*.jsonl files`);
    const opened: Opened[] = [];
    for (const n of names) {
      const path = join(jdir, n);
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by retention meanwhile
        for (const o of opened) closeSync(o.fd);
        throw new FatalError(`unable to open ${path}`, err);
      }
      opened.push({ path, fd, gz: n.endsWith('.gz'), size: fstatSync(fd).size, first: firstTime(fd, n.endsWith('.gz')) });
    }
    if (afterOpen && attempt === 0) await afterOpen();
    // A rotation between readdir and open may have moved lines into an archive we did not list: look again.
    const again = readdirSync(jdir).filter((n) => JOURNAL_NAME.test(n) && !names.includes(n));
    if (again.length === 0 || attempt >= 5) {
      opened.sort((a, b) => a.first - b.first || Number(b.gz) - Number(a.gz));
      return opened;
    }
    for (const o of opened) closeSync(o.fd);
  }
}

/** The time of a file's first event, from its first 64 KiB. */
function firstTime(fd: number, gz: boolean): number {
  const buf = Buffer.alloc(65536);
  const n = readSync(fd, buf, 0, buf.length, 0);
  let text: string;
  try {
    text = gz ? gunzipSync(buf.subarray(0, n), { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString('utf8') : buf.toString('utf8', 0, n);
  } catch {
    return Infinity;
  }
  for (const line of text.split('\n')) {
    const r = parseLine(line);
    if (r.kind === 'ok') return r.record.t;
  }
  return Infinity;
}

/** Reads every source in order, handing wanted records to `onRecord`. */
export async function readSources(sources: Source[], opts: ReadOptions): Promise<ReadSummary> {
  const summary: ReadSummary = { files: [], problems: [] };
  const trees: Opened[][] = [];
  for (const s of sources) {
    if (s.kind === 'dir') trees.push(await openTree(s.dir, opts.afterOpen));
  }
  let total = 0;
  for (const t of trees) for (const o of t) total += o.size;
  const singles: Opened[] = [];
  for (const s of sources) {
    if (s.kind !== 'file') continue;
    let fd: number;
    try {
      fd = openSync(s.path, 'r');
    } catch (err) {
      throw new FatalError(`unable to open ${s.path}`, err);
    }
    const size = fstatSync(fd).size;
    total += size;
    singles.push({ path: s.path, fd, gz: s.path.endsWith('.gz'), size, first: 0 });
  }
  const progress = { done: 0, total };
  let ti = 0;
  let si = 0;
  for (const s of sources) {
    if (s.kind === 'stdin') {
      summary.files.push('-');
      await readStream(opts.stdin ?? process.stdin, opts, progress, null);
      continue;
    }
    const files = s.kind === 'dir' ? trees[ti++]! : [singles[si++]!];
    // Within one tree, a copy of lines already read (a rotation caught half-way) is skipped by time.
    const dedupe = s.kind === 'dir' ? { last: -Infinity, atLast: new Set<string>() } : null;
    for (const o of files) {
      summary.files.push(o.path);
      const stream: Readable = createReadStream('', { fd: o.fd, highWaterMark: 1 << 20, autoClose: true });
      try {
        await readStream(stream, opts, progress, dedupe, o.gz);
      } catch (err) {
        if (o.gz) {
          // A cut-off archive (being written by a rotation, or damaged): its last partial line is already
          // counted as truncated; the file is reported as a problem.
          summary.problems.push(`${o.path}: ${(err as Error).message}`);
        } else throw new FatalError(`unable to read ${o.path}`, err);
      }
    }
  }
  return summary;
}

function readStream(
  input: Readable,
  opts: ReadOptions,
  progress: { done: number; total: number },
  dedupe: { last: number; atLast: Set<string> } | null,
  gz = false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let carry: Buffer | null = null;
    let overlap: boolean | null = null; // decided at this file's first wanted record
    const counts = opts.counts;
    // The same instant may end one file and begin the next: lines at the last time seen are compared whole.
    const onRecord = (r: JournalRecord, raw: string): void => {
      if (dedupe) {
        const dup = r.t < dedupe.last || (r.t === dedupe.last && dedupe.atLast.has(raw));
        if (overlap === null) overlap = dup;
        if (overlap && dup) {
          counts.events--;
          counts.skipped++;
          return;
        }
        if (r.t > dedupe.last) {
          dedupe.last = r.t;
          dedupe.atLast.clear();
        }
        if (r.t === dedupe.last) dedupe.atLast.add(raw);
      }
      opts.onRecord(r);
    };
    const line = (buf: Buffer, start: number, end: number, complete: boolean): void => {
      if (end > start && buf[end - 1] === 13) end--;
      if (end <= start) return;
      // Cheap path: a well-formed line of an event nobody asked for is counted and skipped unparsed.
      if (complete && buf[start] === 123 /* { */ && buf[end - 1] === 125 /* } */) {
        const k = buf.indexOf(KEY, start);
        if (k >= 0 && k < end) {
          const a = k + KEY.length;
          const b = buf.indexOf(34 /* " */, a);
          if (b > a && b < end) {
            const name = buf.toString('latin1', a, b);
            if (!opts.want.has(name) && KNOWN.has(name)) {
              counts.lines++;
              counts.skipped++;
              return;
            }
          }
        }
      }
      const raw = buf.toString('utf8', start, end);
      const r = countLine(counts, parseLine(raw, complete));
      if (r) onRecord(r, raw);
    };
    const src = gz ? input.pipe(createGunzip()) : input;
    if (gz) input.on('data', (c: Buffer) => tick(c.length));
    const tick = (n: number): void => {
      progress.done += n;
      opts.onProgress?.(progress.done, progress.total);
    };
    src.on('data', (chunk: Buffer) => {
      if (!gz) tick(chunk.length);
      let buf = chunk;
      let pos = 0;
      if (carry) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          return;
        }
        const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
        carry = null;
        line(joined, 0, joined.length, true);
        pos = nl + 1;
      }
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        line(buf, pos, nl, true);
        pos = nl + 1;
      }
      if (pos < buf.length) carry = Buffer.from(buf.subarray(pos));
      buf = chunk;
    });
    src.on('end', () => {
      if (carry) line(carry, 0, carry.length, false);
      carry = null;
      resolve();
    });
    src.on('error', (err) => {
      if (carry) line(carry, 0, carry.length, false);
      carry = null;
      input.destroy();
      reject(err);
    });
    input.on('error', reject);
  });
}
