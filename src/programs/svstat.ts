// `svstat dir ...`: one status line per directory, daemontools-exact; exit 0.
import { closeSync, constants as C, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, EXIT } from '../core/errors.js';
import { formatSvstat, STATUS_SIZE, unpackStatus } from '../core/status.js';
import { checkChdir } from '../io/svdir.js';

export const HELP = `usage: svstat dir ...

Prints one line per service directory, as daemontools' svstat:

  dir: up (pid PID) SECS seconds[, normally down][, paused][, want down]
  dir: down SECS seconds[, normally up][, want up]
  dir: supervise not running

SECS counts from the last time the pid changed. Works against upkeep supervise and daemontools' supervise.
exit codes: 0.
`;

export async function main(args: string[]): Promise<number> {
  const lines: string[] = [];
  for (const dir of args) lines.push(`${dir}: ${statusLine(dir)}\n`);
  process.stdout.write(lines.join(''));
  return EXIT.OK;
}

function statusLine(dir: string): string {
  try {
    checkChdir(dir);
  } catch (err) {
    return `unable to chdir: ${describeError(err)}`;
  }
  let normallyUp = false;
  try {
    statSync(join(dir, 'down'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `unable to stat down: ${describeError(err)}`;
    normallyUp = true;
  }
  try {
    closeSync(openSync(join(dir, 'supervise/ok'), C.O_WRONLY | C.O_NONBLOCK));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return 'supervise not running';
    return `unable to open supervise/ok: ${describeError(err)}`;
  }
  const buf = Buffer.alloc(STATUS_SIZE);
  let fd: number;
  try {
    fd = openSync(join(dir, 'supervise/status'), C.O_RDONLY | C.O_NONBLOCK);
  } catch (err) {
    return `unable to open supervise/status: ${describeError(err)}`;
  }
  let n: number;
  try {
    n = readSync(fd, buf, 0, STATUS_SIZE, null);
  } catch (err) {
    return `unable to read supervise/status: ${describeError(err)}`;
  } finally {
    closeSync(fd);
  }
  const status = n === STATUS_SIZE ? unpackStatus(buf) : null;
  if (status === null) return 'unable to read supervise/status: bad format';
  return formatSvstat(status, normallyUp, BigInt(Math.floor(Date.now() / 1000)));
}
