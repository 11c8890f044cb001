// Loopback ports for tests: a port free at the moment of asking, and whether something listens on one.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

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
