// tai64n: puts a TAI64N label and a space before every line of stdin, as daemontools' tai64n does.
// The stamp is taken when the line's first byte is processed; nanoseconds are microseconds * 1000 + 500
// like daemontools. Output is batched and flushed before every read.
// Clock reads: a clock read costs 100-150 ns here, as much as all the rest of a short line's work, so
// reading it for every line of a bulk input would cost a third of our throughput. The first CLOCK_EVERY
// lines of each read() get their own clock read, exactly as daemontools does (so interactive and
// low-rate input is stamped line by line); beyond that, in a bulk read, the clock is read every
// CLOCK_EVERY lines. Every stamp therefore lies between the moment the line's bytes had been read and
// the moment its first byte is processed, at most the work of CLOCK_EVERY lines (a few microseconds)
// early; stamps never decrease; and nothing is written before the next read, so no reader can tell the
// difference from a per-line clock (test/e2e/tai64n.test.ts checks the stamps against the clock around
// the run). bench/tai64n.mjs measures the gain.
import { UsageError } from '../core/errors.js';
import { LabelWriter, type Convention } from '../core/tai64n.js';
import { wallClock, type Clock } from '../io/clock.js';
import { Output, OUT_SIZE, pump, StdioError } from '../io/stdio-filter.js';

export const HELP = `usage: tai64n [--tai daemontools|s6]

Copies stdin to stdout, putting before every line a TAI64N label (@ and 24 hex digits: the moment the
line's first byte was read) and a space. A partial last line is stamped and copied without adding a
newline; empty input gives empty output.

  --tai daemontools|s6   daemontools (TAI = UNIX + 10 s, the default, what multilog, runit and
                         tai64nlocal expect) or s6 (true TAI: UNIX + 10 s + leap seconds, as s6-tai64n)

Exit codes: 0 at end of input, 100 usage, 111 read or write error.
`;

const USAGE = 'tai64n [--tai daemontools|s6]';
const CLOCK_EVERY = 32;

export function parseArgs(args: string[]): Convention {
  let conv: Convention = 'daemontools';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--tai' || a.startsWith('--tai=')) {
      const v = a === '--tai' ? args[++i] : a.slice(6);
      if (v !== 'daemontools' && v !== 's6') throw new UsageError(USAGE);
      conv = v;
    } else throw new UsageError(USAGE);
  }
  return conv;
}

export async function main(args: string[], clock: Clock = wallClock()): Promise<number> {
  const labels = new LabelWriter(parseArgs(args));
  const out = new Output(1);
  let midLine = false;
  try {
    const b = out.buf;
    await pump(0, out, (i, n) => {
      let now = 0;
      let lines = 0;
      let pos = out.pos; // kept in a local in this loop, written back before any flush
      while (i < n) {
        if (!midLine) {
          // The first CLOCK_EVERY lines of a read get a clock read each, later ones every CLOCK_EVERY
          // lines: see the comment at the top.
          if (++lines <= CLOCK_EVERY || (lines & (CLOCK_EVERY - 1)) === 0) now = clock.nowMicros();
          if (pos + 26 > OUT_SIZE) {
            out.pos = pos;
            out.flush();
            pos = 0;
          }
          labels.write(b, pos, now);
          b[pos + 25] = 32;
          pos += 26;
        }
        const nl = b.indexOf(10, i);
        const end = nl < 0 || nl >= n ? n : nl + 1;
        if (pos + (end - i) > OUT_SIZE) {
          out.pos = pos;
          out.flush();
          pos = 0;
        }
        b.copyWithin(pos, i, end);
        pos += end - i;
        midLine = end === n && b[n - 1] !== 10;
        i = end;
      }
      out.pos = pos;
    });
    out.flush();
  } catch (err) {
    if (err instanceof StdioError) return 111; // silently, as daemontools
    throw err;
  }
  return 0;
}
