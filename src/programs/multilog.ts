// `upkeep multilog script...`: daemontools multilog. A thin shell around the engine (src/io/multilog.ts):
// stdin, SIGTERM/SIGALRM, exit code. Every argument is a script action, even `--help` (see HELP).
import { writeSync } from 'node:fs';
import { FatalError } from '../core/errors.js';
import { parseScript } from '../core/script.js';
import { wallClock } from '../io/clock.js';
import { openInput, type Input } from '../io/input.js';
import { Logger } from '../io/multilog.js';

export const HELP = `usage: upkeep multilog script...

Reads a log from stdin and applies the script, one action per argument, to every line:
  t          prefix each line with a TAI64N label "@4000...  " (only as the first argument)
  -pattern   deselect the line if it matches; +pattern  select it if it matches
             (patterns: literal bytes and *, which skips to the first occurrence of the next byte;
             they see the label and at most the first 1000 bytes)
  e          copy selected lines to stderr (at most 200 bytes, then "...")
  =file      overwrite file with each selected line (1001 bytes, padded with newlines)
  sSIZE      maximum size of the log files of the following directories (4096..16777215, default 99999)
  nNUM       number of log files kept by the following directories (at least 2, default 10)
  !processor run "sh -c processor" on each finished log file of the following directories
  ./dir /dir append selected lines to the automatically rotated log directory dir
               (current, @<tai64n>.s, @<tai64n>.u, state, lock)
upkeep's own directives (for collectors; multilog ignores them), sticky like s, n and !:
  %header %rotate=N[s|m|h|d] %total=SIZE[k|M|G] %json %gzip   (and %noheader %text %nogzip)
  see UPKEEP DIRECTIVES in upkeep-multilog(8) and docs/collectors.md.
Anything else is ignored. SIGALRM rotates every non-empty current now; SIGTERM finishes the current
line and exits. Exit codes: 0 at end of input or after SIGTERM; 111 when start-up fails.
Compatible with Debian's daemontools multilog (same files, modes, locks and messages).
See upkeep-multilog(8).
`;

export async function main(args: string[]): Promise<number> {
  process.umask(0o022);
  let termed = false;
  let alarmed = false;
  let logger: Logger | undefined;
  let input: Input | undefined;
  // Installed before start-up, as multilog catches TERM first thing: a signal during start-up is kept.
  const onTerm = (): void => {
    if (termed) return;
    termed = true;
    if (logger && input) void finishLine(logger, input);
  };
  const onAlrm = (): void => {
    if (logger) logger.rotateNow();
    else alarmed = true;
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGALRM', onAlrm);
  try {
    let lg: Logger;
    try {
      let baseDir: string;
      try {
        baseDir = process.cwd();
      } catch (e) {
        throw new FatalError('unable to switch to current directory', e);
      }
      lg = await Logger.open({ script: parseScript(args), clock: wallClock(), stderr: toStderr, baseDir });
    } catch (e) {
      if (!(e instanceof FatalError)) throw e;
      toStderr(Buffer.from(`multilog: fatal: ${e.message}\n`));
      return e.exitCode;
    }
    logger = lg;
    let inp: Input;
    try {
      inp = openInput(0, {
        data: (chunk) => {
          if (!lg.write(chunk)) inp.pause();
        },
        end: () => void lg.end(),
      });
    } catch {
      // stdin not open: multilog's read() fails, which it treats as end of input
      await lg.end();
      return 0;
    }
    input = inp;
    lg.on('drain', () => {
      if (!termed) inp.resume();
    });
    if (alarmed) lg.rotateNow();
    if (termed) void finishLine(lg, inp);
    await lg.done;
    inp.close();
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGALRM', onAlrm);
  }
}

/**
 * multilog writes stderr with blocking writes and ignores failures (a full or closed stderr must not stop
 * the logging). A non-blocking stderr that is momentarily full gets the rest through Node's queue.
 */
function toStderr(b: Uint8Array): void {
  let off = 0;
  try {
    while (off < b.length) off += writeSync(2, b, off, b.length - off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
      process.stderr.on('error', () => {});
      process.stderr.write(Buffer.from(b.subarray(off)));
    }
    // anything else (ENOSPC on /dev/full, EPIPE, EBADF): dropped, as multilog does
  }
}

/**
 * SIGTERM: stop reading, let the logger process what it has; if that leaves a line unfinished, read one
 * byte at a time until its newline, so the rest of the input stays in the pipe for the next reader.
 */
async function finishLine(lg: Logger, inp: Input): Promise<void> {
  inp.pause();
  void lg.terminate();
  for (;;) {
    await lg.idle();
    if (lg.isFinished || !lg.midLine) return; // terminate() finishes the logger
    if (lg.pending > 0) continue;
    const b = await inp.readByte();
    if (b === null) {
      void lg.end();
      return;
    }
    lg.write(b);
  }
}
