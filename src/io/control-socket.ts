// svscan's request channel: a UNIX socket DIR/.upkeep/control.sock (mode 0600: only its owner, normally
// root, may talk to it), one JSON object per line each way. Minimal on purpose (a later issue grows it
// into a full command socket); requests today:
//   {"op":"deploy","service":NAME,"target":PATH}  -> {"ok":true,"from":OLD|null,"to":PATH}
//   {"op":"rollback","service":NAME}              -> {"ok":true,"from":OLD,"to":PREVIOUS}
//   anything else                                 -> {"ok":false,"error":TEXT}
// A failed request answers {"ok":false,"error":"unable to ...: reason"}.
import { chmodSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describeError } from '../core/errors.js';

export const CONTROL_SOCKET = 'control.sock';

export interface Request {
  op: string;
  service?: string;
  target?: string;
}

export type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: string };

/** Listens on STATEDIR/control.sock; `handle` answers each request. */
export async function listenControl(stateDir: string, handle: (r: Request) => Promise<Reply>): Promise<Server> {
  const path = join(stateDir, CONTROL_SOCKET);
  try {
    unlinkSync(path); // a stale socket of a killed svscan (we hold the tree's lock)
  } catch {
    /* none */
  }
  const server = createServer((sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (t: string) => {
      buf += t;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: Request;
        try {
          req = JSON.parse(line) as Request;
        } catch {
          sock.write(`${JSON.stringify({ ok: false, error: 'not a JSON request' })}\n`);
          continue;
        }
        handle(req).then(
          (rep) => sock.write(`${JSON.stringify(rep)}\n`),
          (e) => sock.write(`${JSON.stringify({ ok: false, error: describeError(e) })}\n`),
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  server.unref();
  return server;
}

/** Sends one request to a running svscan and returns its reply. Rejects (with the errno) if none listens. */
export function request(stateDir: string, req: Request, timeoutMs = 60_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(join(stateDir, CONTROL_SOCKET));
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
        resolve(JSON.parse(buf.slice(0, nl)) as Reply);
      } catch (e) {
        reject(e);
      }
    });
  });
}
