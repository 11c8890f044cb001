// Held file descriptors (daemonproxy's handles): listening sockets that svscan binds once and holds, and
// pipes shared between services, handed to a service's processes as fd 3, 4, ... at every start.
//
// A service directory declares them in two files (docs/readme/control.md):
//   listen   one socket a line, `tcp:HOST:PORT` or `unix:/PATH`: fds 3, 4, ... in that order, and
//            LISTEN_FDS=<count> in the environment (a run script sets LISTEN_PID=$$ before it execs)
//   pipes    one shared pipe a line, `write NAME` or `read NAME`: the next fds after the sockets
// A `notification-fd` must be above all of them (svscan refuses a clash with a warning).
//
// svscan itself never accepts a connection on a held socket: Node's net.Server would (libuv watches the
// fd as soon as it listens, node-facts.md). So the socket is made with the bare TCP/Pipe wrap (bind only,
// no watcher in this process), and listen(2) is called on it by a short-lived helper process that gets it
// as its fd 3 and exits before its event loop ever runs: listening is a property of the socket, not of a
// process. The parent only holds the fd; the kernel queues connections while no service runs, so a restart
// refuses none.
import { spawnSync } from 'node:child_process';
import { closeSync, constants as FC, fstatSync, openSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { describeError } from '../core/errors.js';
import { mkfifosSync } from './fifo.js';

/** A bare libuv TCP or Pipe handle: the fd, held, never watched (no accept in this process). */
export interface RawHandle {
  fd: number;
  getsockname(out: object): number;
  bind(host: string, port: number): number;
  bind6(host: string, port: number, flags: number): number;
  close(): void;
}

const LISTEN_HELPER = "require('net').createServer().listen({fd:3,backlog:511});process.exit(0)";

/** Binds SPEC (`tcp:HOST:PORT`, `unix:/PATH`) and makes it listen; returns the raw handle (fd held). */
export function bindListening(spec: string): RawHandle {
  const b = process as unknown as { binding(name: string): Record<string, unknown> };
  let h: RawHandle;
  let err: number;
  if (spec.startsWith('tcp:')) {
    const m = /^tcp:(.+):(\d+)$/.exec(spec);
    if (!m) throw new Error(`not a listen spec: ${spec}`);
    const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
    const { TCP, constants } = b.binding('tcp_wrap') as { TCP: new (t: number) => RawHandle; constants: { SERVER: number } };
    h = new TCP(constants.SERVER);
    err = host.includes(':') ? h.bind6(host, Number(m[2]), 0) : h.bind(host, Number(m[2]));
    // libuv defers EADDRINUSE from bind(2) to the next call (uv__tcp_bind's delayed_error), and listen(2) on
    // the socket that failed to bind would pick a random port: ask for it now.
    if (err === 0) err = h.getsockname({});
  } else if (spec.startsWith('unix:/')) {
    const path = spec.slice(5);
    try {
      unlinkSync(path); // a stale socket
    } catch {
      /* none */
    }
    const { Pipe, constants } = b.binding('pipe_wrap') as { Pipe: new (t: number) => RawHandle; constants: { SERVER: number } };
    h = new Pipe(constants.SERVER);
    err = (h.bind as unknown as (p: string) => number)(path);
  } else throw new Error(`not a listen spec: ${spec}`);
  if (err !== 0) {
    h.close();
    const code = errName(err);
    throw Object.assign(new Error(`unable to bind ${spec}: ${BIND_TEXT[code] ?? code}`), { code });
  }
  const r = spawnSync(process.execPath, ['-e', LISTEN_HELPER], { stdio: ['ignore', 'ignore', 'pipe', h.fd] });
  if (r.status !== 0) {
    h.close();
    throw new Error(`unable to listen on ${spec}: ${String(r.stderr).trim().split('\n').pop() ?? r.status}`);
  }
  return h;
}

const BIND_TEXT: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'access denied',
};

function errName(err: number): string {
  try {
    return getSystemErrorName(err);
  } catch {
    return String(err);
  }
}

/** What a service gets: its extra fds (3 and up, in order) and how many of them are sockets. */
export interface ServiceFds {
  fds: number[];
  listen: number;
}

/** Reads `listen` and `pipes` of a service directory (absent: none). Throws on a malformed line. */
export function readFdSettings(dir: string): { listen: string[]; pipes: { mode: 'read' | 'write'; name: string }[] } {
  const lines = (f: string): string[] => {
    try {
      return readFileSync(join(dir, f), 'latin1').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    } catch {
      return [];
    }
  };
  const pipes = lines('pipes').map((l) => {
    const m = /^(read|write)\s+([A-Za-z0-9_.@+-]+)$/.exec(l);
    if (!m) throw new Error(`bad line in ${dir}/pipes: ${l} (want: read NAME or write NAME)`);
    return { mode: m[1] as 'read' | 'write', name: m[2]! };
  });
  return { listen: lines('listen'), pipes };
}

/** The tree's held fds: sockets by spec (shared by every service and version naming it), pipes by name. */
export class HeldFds {
  private readonly sockets = new Map<string, { h: RawHandle; users: Set<string> }>();
  private readonly pipes = new Map<string, { r: number; w: number }>();

  constructor(private readonly scratch: string) {}

  /** The fds for service NAME in DIR (binding what is new). Throws an Error naming what failed. */
  forService(name: string, dir: string): ServiceFds {
    const { listen, pipes } = readFdSettings(dir);
    const fds: number[] = [];
    for (const spec of listen) {
      let s = this.sockets.get(spec);
      if (!s) {
        try {
          s = { h: bindListening(spec), users: new Set() };
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          const why = code && BIND_TEXT[code] ? BIND_TEXT[code] : describeError(e);
          throw Object.assign(new Error(`unable to listen on ${spec}: ${why}`), { code, spec });
        }
        this.sockets.set(spec, s);
      }
      s.users.add(name);
      fds.push(s.h.fd);
    }
    for (const p of pipes) fds.push(p.mode === 'read' ? this.pipe(p.name).r : this.pipe(p.name).w);
    return { fds, listen: listen.length };
  }

  // A FIFO opened twice and unlinked: the read end O_RDWR (blocking, as a child expects of fd 3 and up;
  // svscan itself never reads it), the write end O_WRONLY. Held until svscan stops.
  private pipe(name: string): { r: number; w: number } {
    let p = this.pipes.get(name);
    if (p) return p;
    const path = join(this.scratch, `pipe-${name}-${process.pid}`);
    mkfifosSync([path]);
    try {
      const r = openSync(path, FC.O_RDWR);
      const w = openSync(path, FC.O_WRONLY);
      p = { r, w };
    } finally {
      unlinkSync(path);
    }
    this.pipes.set(name, p);
    return p;
  }

  /** A socket for SPEC is held already. */
  has(spec: string): boolean {
    return this.sockets.has(spec);
  }

  /** Takeover: SPEC's socket, taken back from an adopted service (io/take-sockets.ts), is held from now on. */
  adopt(spec: string, h: RawHandle): void {
    if (this.sockets.has(spec)) h.close();
    else this.sockets.set(spec, { h, users: new Set() });
  }

  /**
   * Takeover: the shared pipe NAME, re-opened (both ends, bytes in it kept) through fd FD of an adopted
   * process, if that fd is one of our shared pipes of that name (its FIFO's deleted path says so).
   * True if it is held from now on (false: held already, or not ours).
   */
  adoptPipe(name: string, pid: number, fd: number): boolean {
    if (this.pipes.has(name)) return false;
    const path = `/proc/${pid}/fd/${fd}`;
    let link: string;
    try {
      link = readlinkSync(path);
    } catch {
      return false;
    }
    const m = /^pipe-(.+)-\d+ \(deleted\)$/.exec(link.slice(link.lastIndexOf('/') + 1));
    if (!m || m[1] !== name) return false;
    let r: number;
    try {
      r = openSync(path, FC.O_RDWR);
    } catch {
      return false;
    }
    try {
      if (!fstatSync(r).isFIFO()) throw new Error('not a pipe');
      this.pipes.set(name, { r, w: openSync(path, FC.O_WRONLY) });
      return true;
    } catch {
      closeSync(r);
      return false;
    }
  }

  /** NAME is gone: sockets no other service names are closed. */
  release(name: string): void {
    for (const [spec, s] of this.sockets) {
      if (!s.users.delete(name) || s.users.size > 0) continue;
      s.h.close();
      this.sockets.delete(spec);
    }
  }

  closeAll(): void {
    for (const s of this.sockets.values()) s.h.close();
    this.sockets.clear();
    for (const p of this.pipes.values()) {
      for (const fd of [p.r, p.w]) {
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
      }
    }
    this.pipes.clear();
  }
}

/** First and longest pause between two bind attempts while an adopted process holds the address. */
export const REBIND_MIN_MS = 100;
export const REBIND_MAX_MS = 5000;

/**
 * After a takeover, the adopted service still holds its listening socket (svscan's own copy died with the
 * previous svscan), so binding the address again fails until it is gone. `attempt` binds (true: done);
 * it is tried after a backoff doubling from REBIND_MIN_MS up to REBIND_MAX_MS (never a busy loop), and at
 * once on now() (the adopted process has exited, which is when the address becomes free).
 */
export class Rebind {
  private timer: NodeJS.Timeout | undefined;
  private delay = REBIND_MIN_MS;
  private over = false;

  constructor(private readonly attempt: () => boolean) {
    this.schedule();
  }

  get settled(): boolean {
    return this.over;
  }

  now(): void {
    if (this.over) return;
    this.clear();
    this.delay = REBIND_MIN_MS;
    this.tick();
  }

  cancel(): void {
    this.over = true;
    this.clear();
  }

  private tick(): void {
    if (this.attempt()) this.over = true;
    else if (!this.over) this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, REBIND_MAX_MS);
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
