// Senders for `upkeep export`: syslog over UDP (best effort, datagrams counted) and TCP (RFC 6587 octet
// counting), JSON lines over HTTP, OTLP/HTTP JSON. A sender takes a batch (already encoded) and either
// delivers it or throws; the caller retries with backoff and moves its cursor only after success.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

export type Kind = 'udp' | 'tcp' | 'http' | 'otlp';

export interface Destination {
  kind: Kind;
  /** Display form, e.g. tcp://127.0.0.1:514. */
  text: string;
  host: string;
  port: number;
  /** http/otlp: the full URL to POST to (without user:password, which goes into `auth`). */
  url: string;
  /** http/otlp: an Authorization header from the URL's user:password (Basic), or null. */
  auth?: string | null;
}

/** Parses --to: udp://HOST[:PORT], tcp://HOST[:PORT], http(s)://..., otlp+http(s)://HOST[:PORT][/PATH]. */
export function parseDestination(s: string): Destination | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // user:password in an HTTP URL: fetch refuses such a URL; sent as Basic authorization instead, and
  // never shown (statistics and warnings name the URL without them)
  let auth: string | null = null;
  if (u.username || u.password) {
    try {
      auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    } catch {
      return null; // (a stray %: not a URL we can use)
    }
  }
  u.username = '';
  u.password = '';
  switch (u.protocol) {
    case 'udp:':
    case 'tcp:': {
      const kind = u.protocol === 'udp:' ? 'udp' : 'tcp';
      const port = u.port ? Number(u.port) : 514;
      // (syslog has no path, query or credentials: a URL with them is a mistake, not to be ignored)
      if (!host || (u.pathname && u.pathname !== '/') || u.search || u.hash || auth) return null;
      return { kind, text: `${kind}://${u.host || host}${u.port ? '' : ':514'}`, host, port, url: '' };
    }
    case 'http:':
    case 'https:':
      return { kind: 'http', text: u.href, host, port: Number(u.port) || 0, url: u.href, auth };
    case 'otlp+http:':
    case 'otlp+https:': {
      const scheme = u.protocol === 'otlp+http:' ? 'http' : 'https';
      const path = u.pathname && u.pathname !== '/' ? u.pathname : '/v1/logs';
      const url = `${scheme}://${u.host}${path}${u.search}`;
      return { kind: 'otlp', text: `otlp+${url}`, host, port: Number(u.port) || 0, url, auth };
    }
    default:
      return null;
  }
}

export interface Sender {
  /** Delivers one batch: syslog messages (framed per kind) or one HTTP body. Throws on failure. */
  send(batch: Uint8Array[]): Promise<void>;
  close(): void;
  /** Ends a send in flight at once (TERM): it fails, the batch stays unshipped. */
  abort(): void;
}

/** UDP: one datagram per message; errors are counted, never retried. */
export class UdpSender implements Sender {
  private sock: UdpSocket;
  sent = 0;
  failed = 0;
  constructor(private readonly d: Destination) {
    this.sock = createSocket(d.host.includes(':') ? 'udp6' : 'udp4');
    this.sock.on('error', () => {
      this.failed++;
    });
    this.sock.unref();
  }

  async send(batch: Uint8Array[]): Promise<void> {
    await Promise.all(
      batch.map(
        (m) =>
          new Promise<void>((res) =>
            this.sock.send(m, this.d.port, this.d.host, (err) => {
              if (err) this.failed++;
              else this.sent++;
              res();
            }),
          ),
      ),
    );
  }

  close(): void {
    this.sock.close();
  }
  abort(): void {}

}

/**
 * TCP with octet counting: one connection kept open; a batch counts as delivered when the kernel has
 * taken all of it. A connection the collector closed (FIN, RST) is noticed before the next batch, so a
 * batch is not written into a dead connection; a failed write rejects and the batch is sent again on a
 * new connection.
 */
/** How long a new TCP connection must stay open before the first batch is written to it. */
const FRESH_MS = 50;

export class TcpSender implements Sender {
  private sock: Socket | null = null;
  private connecting: Socket | null = null;
  private dead = true;
  constructor(private readonly d: Destination, private readonly timeoutMs = 10_000) {}

  private connect(): Promise<Socket> {
    return new Promise((res, rej) => {
      const s = connect({ host: this.d.host, port: this.d.port });
      s.setNoDelay(true);
      this.connecting = s;
      const t = setTimeout(() => {
        s.destroy();
        rej(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
      }, this.timeoutMs);
      // (abort() while connecting: destroyed, 'close' without 'connect')
      s.once('close', () => {
        clearTimeout(t);
        rej(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
      });
      s.once('connect', () => {
        clearTimeout(t);
        this.connecting = null;
        this.dead = false;
        const down = (): void => {
          this.dead = true;
        };
        s.on('end', down);
        s.on('close', down);
        s.on('error', down);
        s.on('data', () => {}); // collectors do not talk back; drain anything they send
        res(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }

  async send(batch: Uint8Array[]): Promise<void> {
    // Give a just-arrived FIN/RST a chance to be seen before writing.
    await new Promise((r) => setImmediate(r));
    if (!this.sock || this.dead) {
      this.sock?.destroy();
      this.sock = null;
      const fresh = await this.connect();
      // A collector at its connection limit (or a proxy without a backend) accepts and closes at once; a
      // write made before its FIN arrives succeeds into our kernel and the batch would be lost. So a new
      // connection must survive a moment before it is written to.
      await new Promise((r) => setTimeout(r, FRESH_MS));
      if (this.dead) {
        fresh.destroy();
        throw Object.assign(new Error('connection closed by the collector'), { code: 'ECONNRESET' });
      }
      this.sock = fresh;
    }
    const s = this.sock;
    const data = Buffer.concat(batch);
    await new Promise<void>((res, rej) => {
      // A collector that accepts and stops reading fills the socket's buffers: the write never
      // completes. After timeoutMs it is given up like a refused connection (and retried).
      const t = setTimeout(() => rej(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), this.timeoutMs);
      const onErr = (e: Error): void => {
        clearTimeout(t);
        rej(e);
      };
      const onClose = (): void => onErr(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
      s.once('error', onErr);
      s.once('close', onClose);
      s.write(data, (err) => {
        clearTimeout(t);
        s.off('error', onErr);
        s.off('close', onClose);
        // (Node calls a write's callback without an error when the socket was destroyed meanwhile:
        // the bytes were dropped, not written)
        if (err) rej(err);
        else if (s.destroyed) onClose();
        else res();
      });
    }).catch((e) => {
      this.dead = true;
      s.destroy();
      throw e;
    });
  }

  close(): void {
    this.sock?.end();
    this.sock = null;
  }

  abort(): void {
    this.dead = true;
    this.connecting?.destroy();
    this.connecting = null;
    this.sock?.destroy();
    this.sock = null;
  }
}

/** HTTP POST of one body per batch; any 2xx is success (a redirect is not followed: a failure). */
export class HttpSender implements Sender {
  private inflight: AbortController | null = null;
  constructor(
    private readonly d: Destination,
    private readonly contentType: string,
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = 10_000,
  ) {}

  async send(batch: Uint8Array[]): Promise<void> {
    const body = Buffer.concat(batch);
    const ac = new AbortController();
    this.inflight = ac;
    const t = setTimeout(() => ac.abort(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), this.timeoutMs);
    let r: Response;
    try {
      // (redirect: 'manual': fetch would follow a 3xx with a GET without the body, whose 2xx then
      // looked like a delivery)
      r = await fetch(this.d.url, {
        method: 'POST',
        headers: { 'content-type': this.contentType, ...(this.d.auth ? { authorization: this.d.auth } : {}), ...this.headers },
        body,
        redirect: 'manual',
        signal: ac.signal,
      });
      // (the answer's body too: a collector that sends its headers and stalls is timed out, and TERM
      // ends the wait)
      await r.arrayBuffer().catch(() => undefined);
      if (ac.signal.aborted) throw ac.signal.reason;
    } finally {
      clearTimeout(t);
      this.inflight = null;
    }
    if (r.status < 200 || r.status > 299) {
      throw Object.assign(new Error(`HTTP status ${r.status}`), { code: `HTTP_${r.status}` });
    }
  }

  close(): void {}

  abort(): void {
    this.inflight?.abort(Object.assign(new Error('stopped'), { code: 'ECANCELED' }));
  }
}
