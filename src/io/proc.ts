// What /proc says about a process: its start time (field 22 of /proc/PID/stat, in clock ticks since boot),
// which tells a process from a later one that reuses its pid, and whether it is still alive (a zombie is
// not: it has ended and only waits to be reaped by whoever is its parent now).
import { closeSync, constants as C, fstatSync, openSync, readFileSync } from 'node:fs';

interface Stat {
  state: string;
  start: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start after the LAST ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0]!, start: Number(rest[19]) };
}

/** The start time of PID (clock ticks since boot), or undefined if there is no such process. */
export function procStartTime(pid: number): number | undefined {
  return stat(pid)?.start;
}

/** PID runs (not a zombie) and, if `start` is given, is the process that started then. */
export function procAlive(pid: number, start?: number): boolean {
  if (pid <= 0) return false;
  const s = stat(pid);
  if (!s || s.state === 'Z' || s.state === 'X') return false;
  return start === undefined || s.start === start;
}

/**
 * Opens another process's fd through /proc (a new open file description of the same pipe, with the bytes
 * still in it), only if it is a FIFO-based pipe. Returns the fd, or undefined.
 */
export function openProcFifo(pid: number, fd: number, flags: 'read' | 'write'): number | undefined {
  let our: number;
  try {
    our = openSync(`/proc/${pid}/fd/${fd}`, flags === 'read' ? C.O_RDONLY | C.O_NONBLOCK : C.O_WRONLY | C.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(our).isFIFO()) return our;
  } catch {
    /* fall through */
  }
  closeSync(our);
  return undefined;
}

/** Clock ticks per second of /proc/PID/stat's start time: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/**
 * When a process started, in UNIX microseconds, from `now`: /proc/uptime (seconds since boot, 10 ms) minus
 * its start ticks since boot (both count time asleep, since Linux 5.3): an adopted process's uptime counts
 * from its real start.
 */
export function procStartMicros(start: number, now: number): number | undefined {
  let up: number;
  try {
    up = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isFinite(up)) return undefined;
  return now - Math.round((up - start / USER_HZ) * 1e6);
}

/**
 * Who PID is, for the journal's `sender`: `uid U pid P (PROGRAM)`, with the real uid and the name that
 * /proc gives, so that a client's own claim (its pid) is checked against a live process; undefined if
 * there is no such process.
 */
export function procSender(pid: number, claimed: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const uid = /^Uid:\s+(\d+)/m.exec(text)?.[1];
  const comm = /^Name:\s+(.*)$/m.exec(text)?.[1];
  if (uid === undefined) return undefined;
  const what = claimed || comm || '?';
  return `uid ${uid} pid ${pid} (${what})`;
}
