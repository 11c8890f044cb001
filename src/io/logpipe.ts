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
import { mkfifoSync } from './fifo.js';

export interface LogPipe {
  /** Read end, O_NONBLOCK: give it to the logger (stdin, or fd 3 and up of the shared logger). */
  readonly readFd: number;
  /** Write end: give it to each incarnation of the service as stdout (and stderr if it asks). */
  readonly writeFd: number;
  close(): void;
}

/** Creates a pipe pair through a private FIFO that is unlinked at once. */
export function createLogPipe(scratchDir?: string): LogPipe {
  const dir = mkdtempSync(join(scratchDir ?? tmpdir(), '.upkeep-pipe-'));
  const path = join(dir, 'fifo');
  try {
    mkfifoSync(path, 0o600);
    const readFd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
    let writeFd: number;
    try {
      writeFd = openSync(path, C.O_WRONLY);
    } catch (e) {
      closeSync(readFd);
      throw e;
    }
    let closed = false;
    return {
      readFd,
      writeFd,
      close() {
        if (closed) return;
        closed = true;
        closeSync(writeFd);
        closeSync(readFd);
      },
    };
  } finally {
    try {
      unlinkSync(path);
    } catch {
      /* never created */
    }
    rmdirSync(dir);
  }
}
