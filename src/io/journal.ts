// The restart journal's writer, used by the supervisor: one JSON line per event (pino) through
// rotating-file-stream under DIR/.upkeep/. Never on a service's log path: a handful of lines per restart.
//
// Files (docs/journal.md):
//   DIR/.upkeep/journal.jsonl                              the current file
//   DIR/.upkeep/journal-YYYYMMDD-HHMMSS-N.jsonl.gz         rotated archives (UTC time of the rotation by
//                                                          the journal's clock; N = 1, 2, ... if taken)
// Rotation: by size (default 10 MiB) and by age (default 1 day), gzip-compressed; at most `maxFiles`
// archives are kept (default 30), the oldest removed by rotating-file-stream.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import { describeError } from '../core/errors.js';
import { JOURNAL_DIR, JOURNAL_FILE, JOURNAL_VERSION, levelOf, summaryOf, type JournalEvent } from '../core/journal.js';
import { formatLabel, fromUnix } from '../core/tai64n.js';
import { formatRfc3339Micros } from '../core/timespec.js';
import { wallClock, type Clock } from './clock.js';

export { JOURNAL_DIR, JOURNAL_FILE };

export interface JournalOptions {
  host?: string;
  clock?: Clock;
  /** Rotate when the current file reaches this size (rotating-file-stream syntax: '10M', '512K'). */
  size?: string;
  /** Rotate when the current file is this old ('1d', '12h', '30m', '10s'). */
  interval?: string;
  /** Archives kept. */
  maxFiles?: number;
  /** Called on a write or rotation error (default: a warning on stderr). The journal keeps going. */
  onError?: (err: Error) => void;
}

export interface Journal {
  write(ev: JournalEvent): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
  /** The stream's rotation events ('rotated' with the archive's path), for tests and diagnostics. */
  readonly stream: RotatingFileStream;
}


/** `journal-YYYYMMDD-HHMMSS-N.jsonl.gz` from UNIX microseconds (UTC). */
export function archiveName(micros: number, index: number): string {
  const s = formatRfc3339Micros(micros); // 2026-11-22T10:17:08.279391Z
  return `journal-${s.slice(0, 4)}${s.slice(5, 7)}${s.slice(8, 10)}-${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}-${index}.jsonl.gz`;
}

/** Opens (creating DIR/.upkeep if needed) the journal of the service tree DIR. */
export function openJournal(dir: string, opts: JournalOptions = {}): Journal {
  const clock = opts.clock ?? wallClock();
  const host = opts.host ?? hostname();
  const path = join(dir, JOURNAL_DIR);
  mkdirSync(path, { recursive: true, mode: 0o755 });
  const stream = createStream((time, index) => (time === null ? JOURNAL_FILE : archiveName(clock.nowMicros(), index ?? 1)), {
    path,
    size: (opts.size ?? '10M') as never,
    interval: (opts.interval ?? '1d') as never,
    compress: 'gzip',
    maxFiles: opts.maxFiles ?? 30,
  });
  // A full disk or a failed rotation must not kill the supervisor: say so, and keep going.
  const onError = opts.onError ?? ((err: Error) => process.stderr.write(`upkeep: warning: unable to write journal in ${path}: ${describeError(err)}\n`));
  stream.on('error', onError);
  stream.on('warning', onError);
  let stampUs = 0; // the time of the event being serialized (0: now)
  const logger: Logger = pino(
    {
      base: { v: JOURNAL_VERSION, host },
      messageKey: 'msg',
      // One clock reading gives both stamps, so `time` and `tai64n` are the same instant.
      timestamp: () => {
        const us = stampUs || clock.nowMicros();
        const sec = Math.floor(us / 1e6);
        const label = formatLabel(fromUnix(BigInt(sec), (us - sec * 1e6) * 1000 + 500));
        return `,"time":"${formatRfc3339Micros(us)}","tai64n":"${label}"`;
      },
    },
    stream,
  );
  // Events are stamped when they happen and serialized a moment later, in a microtask: a death and the
  // restart it causes are one synchronous step of the supervisor, so the `exit` line is formatted and
  // written after the new `run` was spawned, not on the death-to-restart path (bench/svscan.md). Order is
  // kept: every event goes through the same queue.
  const queue: { ev: JournalEvent; us: number }[] = [];
  const emit = (ev: JournalEvent): void => {
    const { msg, ...fields } = ev;
    const text = msg ?? summaryOf(ev);
    const level = levelOf(ev);
    if (level >= 50) logger.error(fields, text);
    else if (level >= 40) logger.warn(fields, text);
    else logger.info(fields, text);
  };
  const flush = (): void => {
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i]!;
      stampUs = q.us;
      try {
        emit(q.ev);
      } catch (err) {
        onError(err as Error); // never an uncaught exception in a microtask: the supervisor keeps going
      } finally {
        stampUs = 0;
      }
    }
    queue.length = 0;
  };
  return {
    stream,
    write(ev: JournalEvent): void {
      queue.push({ ev, us: clock.nowMicros() });
      if (queue.length === 1) queueMicrotask(flush);
    },
    close(): Promise<void> {
      flush();
      return new Promise((resolve) => {
        stream.once('close', () => resolve());
        stream.end();
      });
    },
  };
}
