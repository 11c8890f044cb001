// Loopback ports for tests: a port free at the moment of asking, and whether something listens on one.
import { createSocket } from 'node:dgram';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer } from 'node:net';
import { afterEach } from 'vitest';

/** A TCP (default) or UDP port on 127.0.0.1 that was free when asked (bound to port 0, then released). */
export async function freePort(kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (kind === 'tcp') {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const p = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return p;
  }
  const u = createSocket('udp4');
  await new Promise<void>((r) => u.bind(0, '127.0.0.1', r));
  const p = u.address().port;
  u.close();
  return p;
}

/** Whether a TCP connection to 127.0.0.1:PORT is accepted. */
export const canConnect = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });

const receivers: Server[] = [];
afterEach(() => {
  for (const s of receivers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/**
 * An HTTP server on 127.0.0.1 (closed after the test) that hands each request's whole body to `onBody`,
 * which answers it; returns the port.
 */
export async function httpReceiver(onBody: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Promise<number> {
  const srv = createHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => onBody(req, Buffer.concat(chunks), res));
  });
  receivers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

/** An httpReceiver for JSON lines: every object posted is pushed to `got`; answers 204. */
export const jsonLinesReceiver = (got: Record<string, unknown>[]): Promise<number> =>
  httpReceiver((_req, body, res) => {
    for (const l of body.toString().split('\n').filter(Boolean)) got.push(JSON.parse(l) as Record<string, unknown>);
    res.writeHead(204).end();
  });
