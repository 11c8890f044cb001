// The persistent log pipe between a service and its logger (runsv's logpipe, svscan's pipes): the supervisor
// holds both ends for as long as the service exists, so either side can die and restart without the other
// seeing EOF or SIGPIPE, and lines written by a service that died stay in the pipe for the next reader.
//
// Node has no pipe(2). A FIFO opened twice gives the same thing (node-facts.md): first O_RDONLY|O_NONBLOCK
// (the read end), then O_WRONLY (opens at once because a reader exists), then the name is unlinked. Two
// separate opens, never one O_RDWR description: libuv makes a child's stdio blocking, and O_NONBLOCK belongs to
// the open file description, so a shared description would freeze whoever reads it on the event loop.
import { openSync, closeSync, unlinkSync, mkdtempSync, rmdirSync, constants as C } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkfifoSync, mkfifosSync } from './fifo.js';

export interface LogPipe {
  /** Read end, O_NONBLOCK: give it to the logger (stdin, or fd 3 and up of the shared logger). */
  readonly readFd: number;
  /** Write end: give it to each incarnation of the service as stdout (and stderr if it asks). */
  readonly writeFd: number;
  /** Closes the write end only (the reader then sees EOF once every service incarnation is gone). */
  closeWrite(): void;
  close(): void;
}

/** Creates a pipe pair through a private FIFO that is unlinked at once. */
export function createLogPipe(scratchDir?: string): LogPipe {
  return createLogPipes(1, scratchDir)[0]!;
}

/** Creates `n` pipe pairs with a single mkfifo process (svscan's start-up at 1000 services). */
export function createLogPipes(n: number, scratchDir?: string): LogPipe[] {
  if (n === 0) return [];
  const dir = mkdtempSync(join(scratchDir ?? tmpdir(), '.upkeep-pipe-'));
  const paths = Array.from({ length: n }, (_, i) => join(dir, `fifo${i}`));
  const pipes: LogPipe[] = [];
  try {
    if (n > 1) mkfifosSync(paths, 0o600);
    for (const path of paths) {
      mkfifoSync(path, 0o600);
      pipes.push(openPair(path));
    }
    return pipes;
  } catch (e) {
    for (const p of pipes) p.close();
    throw e;
  } finally {
    for (const path of paths) {
      try {
        unlinkSync(path);
      } catch {
        /* never created */
      }
    }
    rmdirSync(dir);
  }
}

function openPair(path: string): LogPipe {
  const readFd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
  let writeFd: number;
  try {
    writeFd = openSync(path, C.O_WRONLY);
  } catch (e) {
    closeSync(readFd);
    throw e;
  }
  return logPipeOf(readFd, writeFd);
}

/** A LogPipe from two fds the caller opened (svscan's takeover: both re-opened through /proc). */
export function logPipeOf(readFd: number, writeFd: number): LogPipe {
  let wOpen = true;
  let rOpen = true;
  return {
    readFd,
    writeFd,
    closeWrite() {
      if (wOpen) closeSync(writeFd);
      wOpen = false;
    },
    close() {
      if (wOpen) closeSync(writeFd);
      if (rOpen) closeSync(readFd);
      wOpen = rOpen = false;
    },
  };
}
