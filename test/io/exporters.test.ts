// The TCP sender against collectors that misbehave at the socket level: a batch counts as shipped only
// when it was written to a live connection.
import { spawn } from 'node:child_process';
import { type Socket, connect, createServer } from 'node:net';
import { freePort } from '../helpers/net.js';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpSender, parseDestination } from '../../src/io/exporters.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function server(onConn: (c: Socket) => void): Promise<number> {
  const conns: Socket[] = [];
  const srv = createServer((c) => {
    conns.push(c);
    onConn(c);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => {
    for (const c of conns) c.destroy();
    srv.close();
  });
  return (srv.address() as { port: number }).port;
}

describe('TcpSender', () => {
  it('a collector that accepts and closes at once: the batch fails (retried), it does not vanish', async () => {
    const port = await server((c) => c.destroy());
    const s = new TcpSender(parseDestination(`tcp://127.0.0.1:${port}`)!, 2000);
    await expect(s.send([Buffer.from('5 hello')])).rejects.toMatchObject({ code: 'ECONNRESET' });
    s.abort();
  });

  it('a collector that stops reading: the write times out instead of hanging', async () => {
    const port = await server((c) => c.pause());
    const s = new TcpSender(parseDestination(`tcp://127.0.0.1:${port}`)!, 500);
    const big = Buffer.alloc(64 << 20, 0x61); // (more than the loopback's socket buffers hold)
    await expect(s.send([big])).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    s.abort();
  });

  it('abort() during a stuck write: the send fails (a destroyed socket is not a delivery)', async () => {
    const port = await server((c) => c.pause());
    const s = new TcpSender(parseDestination(`tcp://127.0.0.1:${port}`)!, 60_000);
    const p = s.send([Buffer.alloc(64 << 20, 0x61)]);
    setTimeout(() => s.abort(), 300);
    await expect(p).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('abort() while connecting (a collector whose accept queue is full: the SYN goes unanswered): the send fails at once', async () => {
    const port = await freePort();
    const py = spawn('python3', ['-c', `import socket,time
s=socket.socket(); s.bind(('127.0.0.1', ${port})); s.listen(0); print('ready', flush=True); time.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    closers.push(() => py.kill('SIGKILL'));
    await new Promise((r) => py.stdout!.once('data', r));
    const filler = connect(port, '127.0.0.1'); // (takes the one place in the queue)
    closers.push(() => filler.destroy());
    await new Promise((r) => filler.once('connect', r));
    const s = new TcpSender(parseDestination(`tcp://127.0.0.1:${port}`)!, 60_000);
    const t0 = Date.now();
    const p = s.send([Buffer.from('5 hello')]);
    setTimeout(() => s.abort(), 300);
    await expect(p).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a live collector: the batch is delivered, the connection reused', async () => {
    const got: Buffer[] = [];
    let conns = 0;
    const port = await server((c) => {
      conns++;
      c.on('data', (b: Buffer) => got.push(b));
    });
    const s = new TcpSender(parseDestination(`tcp://127.0.0.1:${port}`)!, 2000);
    await s.send([Buffer.from('5 hello')]);
    await s.send([Buffer.from('5 world')]);
    await new Promise<void>((r) => {
      const t = setInterval(() => Buffer.concat(got).length >= 14 && (clearInterval(t), r()), 5);
    });
    expect(Buffer.concat(got).toString()).toBe('5 hello5 world');
    expect(conns).toBe(1);
    s.close();
  });
});
