// tai64nlocal: converts the TAI64N label at the start of each line to local time, byte for byte as
// Debian's tai64nlocal does (glibc's idea of the local zone, reimplemented in core/tz.ts), without its
// crashes: a label that is not "@" + 24 lowercase hex digits, or whose time localtime() cannot represent,
// is passed through unchanged (Debian's binary dies with SIGSEGV there).
// Hot path: newlines found per chunk with indexOf, the date part cached per second (core LabelFormatter),
// 8 hex digits and 9 decimal digits per line, no per-line allocation.
// Start-up: the zone code (core/tz, core/tzlocal, io/zone) is imported, and the zone files read, only
// when the first label at a line start is seen.
import { UsageError } from '../core/errors.js';
import type { Convention } from '../core/tai64n.js';
import type { LabelFormatter, LocalFormat } from '../core/tzlocal.js';
import { Output, pump, StdioError } from '../io/stdio-filter.js';

export const HELP = `usage: tai64nlocal [--utc] [--rfc3339] [--tai daemontools|s6]

Reads lines on stdin; a line that starts with a TAI64N label (@ and 24 lowercase hex digits) is written
with the label replaced by the time it stands for, as YYYY-MM-DD HH:MM:SS.NNNNNNNNN in the local time
zone (TZ, as the C library reads it: zoneinfo names, POSIX TZ strings, /etc/localtime when unset).
Other lines, and malformed labels, are copied unchanged.

  --utc                  print UTC instead of local time
  --rfc3339              print RFC 3339 with nanoseconds: 2026-11-22T10:17:08.279391500Z (UTC)
                         or 2026-11-22T11:17:08.279391500+01:00 (local time)
  --tai daemontools|s6   how labels map to UNIX time: daemontools (TAI = UNIX + 10 s, the default,
                         as tai64n, multilog, runit write) or s6 (true TAI with leap seconds)

Exit codes: 0 at end of input, 100 usage, 111 read or write error.
`;

const USAGE = 'tai64nlocal [--utc] [--rfc3339] [--tai daemontools|s6]';

export function parseArgs(args: string[]): LocalFormat {
  const fmt: LocalFormat = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--utc') fmt.utc = true;
    else if (a === '--rfc3339') fmt.rfc3339 = true;
    else if (a === '--tai' || a.startsWith('--tai=')) {
      const v = a === '--tai' ? args[++i] : a.slice(6);
      if (v !== 'daemontools' && v !== 's6') throw new UsageError(USAGE);
      fmt.convention = v as Convention;
    } else throw new UsageError(USAGE);
  }
  return fmt;
}

export async function main(args: string[]): Promise<number> {
  const fmt = parseArgs(args);
  const out = new Output(1);
  const conv = new Converter(fmt, out);
  try {
    await pump(0, out, (start, end) => conv.chunk(start, end));
    conv.finish();
    out.flush();
  } catch (err) {
    if (err instanceof StdioError) return 111; // silently, as daemontools
    throw err;
  }
  return 0;
}

const NL = 10;
const AT = 64;
const LINE_AT = Buffer.from('\n@');

// Values of the lowercase hex digits tai64nlocal accepts (0-9 a-f), -1 for any other byte.
const HEXVAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) HEXVAL[97 + i] = 10 + i;
const hexValue = (c: number): number => HEXVAL[c]!;

/** The line state machine, fed chunk by chunk (exported for test/e2e/tai64nlocal-chunks.test.ts). */
export class Converter {
  /** True while copying the rest of a line whose start has been handled. */
  private midLine = false;
  /** A label seen at a line start whose end is not in sight yet ("@" and hex digits only). */
  private label: Buffer[] = [];
  private labelLen = 0;
  private readonly scratch = Buffer.alloc(25);

  /** Made when the first label is seen: input without labels never loads the zone code or files. */
  private f: LabelFormatter | null = null;

  constructor(
    private readonly fmt: LocalFormat,
    private readonly out: Output,
  ) {}

  /** Handles out.buf[i, n) (in the output's input area); a promise while the zone code is loading. */
  chunk(i: number, n: number): void | Promise<void> {
    if (this.f === null && this.labelAhead(i, n)) return this.loadFormatter().then(() => this.chunk(i, n));
    const out = this.out;
    const b = out.buf;
    if (this.labelLen > 0) {
      i = this.resume(i, n);
      if (i < 0) return;
    }
    if (this.midLine) {
      const nl = b.indexOf(NL, i);
      if (nl < 0 || nl >= n) {
        out.move(i, n);
        return;
      }
      out.move(i, nl + 1);
      this.midLine = false;
      i = nl + 1;
    }
    while (i < n) {
      let j = i;
      if (b[i] === AT) {
        j = i + 1;
        while (j < n && hexValue(b[j]!) >= 0) j++;
        if (j === n) {
          this.hold(b, i, n);
          return;
        }
        if (j - i !== 25 || !this.emit(b, i + 1)) out.move(i, j);
      }
      // Copy the rest of the line (from the label's terminator, or the whole line).
      const nl = b.indexOf(NL, j);
      if (nl < 0 || nl >= n) {
        out.move(j, n);
        this.midLine = true;
        return;
      }
      out.move(j, nl + 1);
      i = nl + 1;
    }
  }

  /** Whether out.buf[i, n) may hold a label at a line start (then the formatter is needed). */
  private labelAhead(i: number, n: number): boolean {
    const b = this.out.buf;
    if (this.labelLen > 0 || (!this.midLine && b[i] === AT)) return true;
    const k = b.indexOf(LINE_AT, i);
    return k >= 0 && k + 1 < n;
  }

  private async loadFormatter(): Promise<void> {
    const [{ LabelFormatter }, { UTC }, { loadZone }] = await Promise.all([
      import('../core/tzlocal.js'),
      import('../core/tz.js'),
      import('../io/zone.js'),
    ]);
    this.f = new LabelFormatter(this.fmt.utc ? UTC : loadZone(), this.fmt);
  }

  /** At end of input a label without a terminator produces no output at all (as Debian's does). */
  finish(): void {
    this.label = [];
    this.labelLen = 0;
  }

  private hold(b: Buffer, start: number, end: number): void {
    this.label.push(Buffer.from(b.subarray(start, end)));
    this.labelLen += end - start;
  }

  /** Continues a held label into out.buf[i, n); returns where line copying resumes, or -1 if still held. */
  private resume(i: number, n: number): number {
    const b = this.out.buf;
    let j = i;
    while (j < n && hexValue(b[j]!) >= 0) j++;
    if (j === n) {
      this.hold(b, i, n);
      return -1;
    }
    const total = this.labelLen + (j - i);
    let done = false;
    if (total === 25) {
      let k = 0;
      for (const part of this.label) k += part.copy(this.scratch, k);
      b.copy(this.scratch, k, i, j);
      done = this.emit(this.scratch, 1);
    }
    if (!done) {
      for (const part of this.label) this.out.copy(part, 0, part.length);
      this.out.move(i, j);
    }
    this.label = [];
    this.labelLen = 0;
    this.midLine = true;
    return j;
  }

  /** Writes the converted label whose 24 hex digits start at b[p]; false if it must pass through. */
  private emit(b: Buffer, p: number): boolean {
    const f = this.f!; // loaded by chunk() before any label is handled
    if (!f.load(b, p)) return false;
    const head = f.head;
    const tail = f.tail;
    const out = this.out;
    out.room(head.length + 10 + tail.length);
    const ob = out.buf;
    let o = out.pos;
    for (let k = 0; k < head.length; k++) ob[o++] = head[k]!;
    let nano = 0;
    for (let k = p + 16; k < p + 24; k++) nano = nano * 16 + hexValue(b[k]!);
    if (nano < 1e9) {
      for (let k = o + 8; k >= o; k--) {
        ob[k] = 48 + (nano % 10);
        nano = Math.floor(nano / 10);
      }
      o += 9;
    } else {
      const s = String(nano);
      for (let k = 0; k < s.length; k++) ob[o++] = s.charCodeAt(k);
    }
    for (let k = 0; k < tail.length; k++) ob[o++] = tail[k]!;
    out.pos = o;
    return true;
  }
}
