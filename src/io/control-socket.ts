// svscan's command socket: DIR/.upkeep/control.sock (mode 0600, created under umask 077: only its owner,
// normally root, can connect; Node has no SO_PEERCRED, so the file's permissions are the whole check).
// Where that path is longer than a UNIX socket path may be (107 bytes + NUL), the socket lives at
// /tmp/upkeep-UID/HASH.sock instead (the directory 0700, owned by UID; HASH = the first 24 hex digits of
// sha256 of DIR/.upkeep's real path), which every client computes the same way.
//
// One line per request, each way. A line starting with `{` is JSON (upkeep deploy / rollback, and the
// JSON form of every command); anything else is a text command of docs/commands.md (io/control-plane.ts).
// This file is the transport only: paths, listening, line splitting, bounded writers.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { secondsText, formatEventLine, formatEventJson, TextLines } from '../core/control.js';

export const CONTROL_SOCKET = 'control.sock';
/** The longest path a UNIX socket can have on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;
/** Bytes a peer may leave unread before it is dropped (svscan --events-buffer). */
export const DEFAULT_PEER_BUFFER = 1 << 20;
/** How long a dropped peer may take to read its last bytes before its connection is destroyed. */
export const DROP_GRACE_MS = 60_000;

export interface Request {
  op: string;
  service?: string;
  target?: string;
  [k: string]: unknown;
}

export type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: string };

/** Where the command socket of the tree whose state directory is STATEDIR lives (see the header). */
export function socketPath(stateDir: string): string {
  let real: string;
  try {
    real = realpathSync(stateDir);
  } catch {
    real = resolve(stateDir);
  }
  const p = join(real, CONTROL_SOCKET);
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
  const uid = process.getuid?.() ?? 0;
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 24);
  return join(`/tmp/upkeep-${uid}`, `${hash}.sock`);
}

/** Creates (or checks) the fallback directory: a real directory, ours, mode 0700. */
function fallbackDir(path: string): void {
  const dir = join(path, '..');
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw Object.assign(new Error(`${dir} is not a private directory of uid ${uid}`), { code: 'EPERM' });
  }
}

/**
 * A peer's output with a bounded buffer: once more than `limit` bytes wait unread, the peer gets one
 * `dropped` line and is disconnected (destroyed 60 s later if it still does not read), so a slow or dead
 * reader never holds the supervisor's memory or time.
 */
export class Peer {
  dropped = false;
  onDrop: (() => void) | undefined;
  constructor(
    private readonly out: NodeJS.WritableStream & { writableLength: number; destroyed?: boolean; destroy(): void },
    readonly json: boolean,
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Queues text; false if the peer is gone or was just dropped. */
  write(text: string): boolean {
    if (this.dropped || this.out.destroyed) return false;
    if (this.out.writableLength + text.length > this.limit) {
      this.drop();
      return false;
    }
    this.out.write(text);
    return true;
  }

  private drop(): void {
    this.dropped = true;
    const ev = { event: 'dropped', service: '-', reason: 'buffer-full', limit: this.limit };
    try {
      this.out.write(this.json ? formatEventJson(ev, this.now()) : formatEventLine(ev, this.now()));
      this.out.end();
    } catch {
      /* gone */
    }
    // what stays queued is bounded (limit + this line); a reader that never reads again is cut after 60 s
    setTimeout(() => this.out.destroy(), DROP_GRACE_MS).unref();
    this.onDrop?.();
  }
}

export interface Connection {
  /** Called for every line the client sends (without its newline); lines are handed over in order. */
  onLine(line: string, sock: Socket): Promise<void>;
}

/** Listens on the tree's command socket; `conn` is called once per accepted connection. */
export async function listenControl(stateDir: string, conn: (sock: Socket) => Connection): Promise<{ server: Server; path: string }> {
  const path = socketPath(stateDir);
  if (!path.startsWith(resolve(stateDir)) && !path.startsWith(realpathSafe(stateDir))) fallbackDir(path);
  try {
    unlinkSync(path); // a stale socket of a killed svscan (we hold the tree's lock)
  } catch {
    /* none */
  }
  const server = createServer((sock: Socket) => {
    const c = conn(sock);
    const lines = new TextLines();
    let chain = Promise.resolve();
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (t: string) => {
      if (lines.rest.length + t.length > 1 << 20 && !t.includes('\n')) {
        sock.destroy(); // a line longer than 1 MiB: not a client of ours
        return;
      }
      for (const line of lines.push(t)) {
        chain = chain.then(() => c.onLine(line, sock)).catch(() => {});
      }
    });
  });
  await new Promise<void>((res, reject) => {
    server.once('error', reject);
    // umask 077 while the socket file is made: it is never connectable by others, not even for a moment
    const old = process.umask(0o177);
    try {
      server.listen(path, () => res());
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o600);
  server.unref();
  return { server, path };
}

function realpathSafe(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Sends one JSON request to a running svscan and returns its reply. Rejects (with the errno) if none listens. */
export function request(stateDir: string, req: Request, timeoutMs = 60_000): Promise<Reply> {
  return new Promise((res, reject) => {
    const sock = createConnection(socketPath(stateDir));
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error('no reply from svscan'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (t: string) => {
      buf += t;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        res(JSON.parse(buf.slice(0, nl)) as Reply);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * Sends one text command and calls `line` for every line that comes back, until the server closes the
 * connection, or (unless `untilClose`) until a reply line (`ok` / `error`, text or JSON) arrived.
 */
export function converse(
  stateDir: string,
  command: string,
  line: (l: string) => boolean | void,
  untilClose = false,
): Promise<{ sock: Socket; ended: Promise<void> }> {
  return new Promise((res, reject) => {
    const sock = createConnection(socketPath(stateDir));
    const lines = new TextLines();
    sock.setEncoding('utf8');
    let connected = false;
    const ended = new Promise<void>((done) => {
      sock.on('close', () => done());
    });
    sock.on('error', (e) => {
      if (!connected) reject(e);
    });
    sock.on('connect', () => {
      connected = true;
      sock.write(`${command}\n`);
      res({ sock, ended });
    });
    sock.on('data', (t: string) => {
      for (const l of lines.push(t)) {
        const stop = line(l);
        if (stop === true || (!untilClose && isReply(l))) {
          sock.end();
          sock.destroy();
          return;
        }
      }
    });
  });
}

function isReply(l: string): boolean {
  return l.startsWith('ok\t') || l.startsWith('error\t') || l.startsWith('{"event":"ok"') || l.startsWith('{"event":"error"');
}

export { secondsText };
