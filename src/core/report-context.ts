// Crash context: the last lines a service wrote before each death. Pure: the io side feeds the log's
// lines in order (oldest file first) and this decides which lines belong to which death.
//  - exact: upkeep's loggers write an exit note at the point of death (docs/journal.md):
//        upkeep: exit pid=1234 code=- signal=SIGSEGV uptime=3.204 next=restart
//    the lines since the previous note, up to N, are that death's context.
//  - approximate: for other loggers (multilog t, svlogd -t, s6-log t in the daemontools convention), the lines
//    stamped at or before the death's time (TAI64N label at the line start) are the context.
import type { ExitInfo } from './report.js';

export interface ExitNote {
  pid: number;
  code: number | null;
  signal: string | null;
  uptime: number;
  next: string;
}

const NOTE = /^upkeep: exit pid=(\d+) code=(-|\d+) signal=(-|SIG[A-Z0-9+-]+) uptime=([0-9.]+) next=(\S+)$/;

export function parseExitNote(text: string): ExitNote | null {
  const m = NOTE.exec(text);
  if (!m) return null;
  return {
    pid: Number(m[1]),
    code: m[2] === '-' ? null : Number(m[2]),
    signal: m[3] === '-' ? null : m[3]!,
    uptime: Number(m[4]),
    next: m[5]!,
  };
}

/** The exit note's text for a death (what the supervisor's logger writes). */
export function formatExitNote(n: ExitNote): string {
  return `upkeep: exit pid=${n.pid} code=${n.code ?? '-'} signal=${n.signal ?? '-'} uptime=${n.uptime.toFixed(3)} next=${n.next}`;
}

/** A line's leading TAI64N label (daemontools convention) as UNIX microseconds, and the text after it. */
export function splitLabel(line: string): { t: number | null; text: string } {
  if (line.length >= 26 && line.charCodeAt(0) === 64 && line.charCodeAt(25) === 32) {
    const hex = line.slice(1, 25);
    if (/^[0-9a-f]{24}$/.test(hex)) {
      const secHi = parseInt(hex.slice(0, 8), 16);
      const secLo = parseInt(hex.slice(8, 16), 16);
      const nano = parseInt(hex.slice(16, 24), 16);
      // seconds = (hi * 2^32 + lo) - (2^62 + 10), computed without losing the low bits.
      const sec = (secHi - 0x40000000) * 4294967296 + secLo - 10;
      return { t: sec * 1e6 + Math.floor(nano / 1000), text: line.slice(26) };
    }
  }
  return { t: null, text: line };
}

export class ContextCollector {
  private ring: string[] = [];
  private approxNext = 0;
  private stamped = false;
  private readonly exact = new Map<ExitInfo, string[]>();
  private readonly approx = new Map<ExitInfo, string[]>();
  private readonly byPid = new Map<number, ExitInfo[]>(); // exits not yet matched to a note, oldest first

  /** `exits` sorted by time; `n` lines of context each. */
  constructor(private readonly exits: ExitInfo[], private readonly n: number) {
    for (const e of exits) {
      const q = this.byPid.get(e.pid);
      if (q) q.push(e);
      else this.byPid.set(e.pid, [e]);
    }
  }

  line(raw: string): void {
    const { t, text } = splitLabel(raw);
    // A %header line (text, or a %json object marked upkeep_header) is the logger's, not the service's.
    if (text.startsWith('upkeep-header ') || (text.startsWith('{"time":"') && text.includes('"upkeep_header":true'))) return;
    if (t !== null) {
      this.stamped = true;
      while (this.approxNext < this.exits.length && this.exits[this.approxNext]!.at < t) {
        this.approx.set(this.exits[this.approxNext]!, this.ring.slice());
        this.approxNext++;
      }
    }
    const note = parseExitNote(text);
    if (note) {
      const e = this.byPid.get(note.pid)?.shift();
      if (e) this.exact.set(e, this.ring.slice());
      this.ring = [];
      return;
    }
    this.ring.push(text);
    if (this.ring.length > this.n) this.ring.shift();
  }

  /** Writes each exit's context and its kind. */
  finish(): void {
    if (this.stamped) {
      for (; this.approxNext < this.exits.length; this.approxNext++) this.approx.set(this.exits[this.approxNext]!, this.ring.slice());
    }
    for (const e of this.exits) {
      const ex = this.exact.get(e);
      const ap = this.approx.get(e);
      if (ex) {
        e.context = ex;
        e.contextKind = 'exact';
      } else if (ap) {
        e.context = ap;
        e.contextKind = 'approximate';
      }
    }
  }
}
