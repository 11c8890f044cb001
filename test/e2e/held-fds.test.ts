// Held file descriptors (issue 6): a listening socket bound and held by svscan, passed as fd 3 with
// LISTEN_FDS; svscan never accepts on it; restarts refuse no connection. Pipes shared between services.
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { socketPath } from '../../src/io/control-socket.js';
import { tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { freePort } from '../helpers/net.js';
import { files, journal, startScan, tree, waitEvent } from './svscan-helpers.js';

const SERVER = `import net from 'node:net';
if (process.env.LISTEN_FDS !== '1' || process.env.LISTEN_PID !== String(process.pid)) {
  console.error('bad LISTEN_FDS/LISTEN_PID', process.env.LISTEN_FDS, process.env.LISTEN_PID, process.pid);
  process.exit(1);
}
const s = net.createServer((c) => c.end(process.pid + '\\n')).listen({ fd: 3 });
process.on('SIGTERM', () => s.close(() => process.exit(0)));
`;

/** One connection: the reply line, or the error code. */
function ask(port: number): Promise<{ reply?: string; error?: string }> {
  return new Promise((r) => {
    const c = createConnection(port, '127.0.0.1');
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (t: string) => (buf += t));
    c.on('end', () => r({ reply: buf.trim() }));
    c.on('error', (e: NodeJS.ErrnoException) => r({ error: e.code ?? 'error' }));
  });
}

function rawLines(path: string, first: string): { lines: string[]; write: (s: string) => void; close: () => void } {
  const c = createConnection(path);
  const lines: string[] = [];
  let buf = '';
  c.setEncoding('utf8');
  c.on('data', (t: string) => {
    buf += t;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  c.on('error', () => {});
  c.write(`${first}\n`);
  return { lines, write: (s) => c.write(s), close: () => c.destroy() };
}

describe('held listening sockets', () => {
  it('fd 3 with LISTEN_FDS; 200 connections all served by the service (svscan accepts none); 20 restarts under load refuse no connection', async () => {
    const dir = tree();
    const port = await freePort();
    files(dir, {
      'web/server.mjs': SERVER,
      'web/run': `#!/bin/sh\nLISTEN_PID=$$ exec ${process.execPath} server.mjs\n`,
      'web/listen': `tcp:127.0.0.1:${port}\n`,
      'web/min-uptime': '0\n',
    });
    const s = startScan(dir);
    const st = await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web', 'web started');
    const pid = String(st.pid);
    const first = await Promise.all(Array.from({ length: 200 }, () => ask(port)));
    expect(first.filter((a) => a.reply === pid)).toHaveLength(200);
    expect(s.stderr()).toBe('');

    await waitFor(() => existsSync(socketPath(join(dir, '.upkeep'))), 'the command socket');
    const sub = rawLines(socketPath(join(dir, '.upkeep')), 'events -f');
    const cmd = rawLines(socketPath(join(dir, '.upkeep')), '');
    let stop = false;
    const results: { reply?: string; error?: string }[] = [];
    const hammer = async (): Promise<void> => {
      while (!stop) results.push(await ask(port));
    };
    const workers = Array.from({ length: 4 }, () => hammer());
    const pids = new Set<string>([pid]);
    for (let i = 1; i <= 20; i++) {
      const before = results.length;
      cmd.write('restart web\n');
      await waitFor(() => sub.lines.filter((l) => l.startsWith('start\tweb\t')).length >= i, `restart ${i}`);
      await waitFor(() => results.length > before + 5, 'connections served after the restart');
    }
    stop = true;
    await Promise.all(workers);
    sub.close();
    cmd.close();
    for (const l of sub.lines.filter((x) => x.startsWith('start\tweb\t'))) pids.add(/\tpid=(\d+)/.exec(l)![1]!);
    expect(pids.size).toBe(21);
    const refused = results.filter((r) => r.error === 'ECONNREFUSED').length;
    const failed = results.filter((r) => r.error !== undefined);
    expect(refused).toBe(0);
    expect(failed).toEqual([]);
    // every reply came from one of the service's incarnations, never from svscan
    expect(results.every((r) => r.reply !== undefined && pids.has(r.reply))).toBe(true);
    expect(results.length).toBeGreaterThan(100);
    expect(journal(dir).filter((e) => e.event === 'start' && e.service === 'web')).toHaveLength(21);
  }, 60_000);

  it('a UNIX listening socket declared by ctl add --listen: served on fd 3, svscan accepts none', async () => {
    const dir = tree();
    const work = tmpdir('upkeep-unix-');
    const path = join(work, 'app.sock');
    files(work, { 'server.mjs': SERVER });
    const s = startScan(dir);
    await waitFor(() => existsSync(socketPath(join(dir, '.upkeep'))), 'the command socket').catch((e) => {
      throw new Error(`${String(e)}: ${s.stderr()}`);
    });
    const add = await upkeep(['ctl', '--dir', dir, 'add', 'app', '--cwd', work, '--listen', `unix:${path}`, '--', 'sh', '-c', `LISTEN_PID=$$ exec ${process.execPath} server.mjs`]);
    expect(add.stdout.toString()).toMatch(/^ok\tadd\tapp\tadded, pid \d+\n$/);
    const pid = String((await waitEvent(dir, (e) => e.event === 'start' && e.service === 'app', 'app started')).pid);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        new Promise<string>((r) => {
          const c = createConnection(path);
          let buf = '';
          c.setEncoding('utf8');
          c.on('data', (t: string) => (buf += t));
          c.on('end', () => r(buf.trim()));
          c.on('error', (e) => r(String(e)));
        }),
      ),
    );
    expect(replies.every((x) => x === pid)).toBe(true);
  });

  it('pipes shared between services: two writers into one logger on fds 3 and 4', async () => {
    const dir = tree();
    files(dir, {
      'w1/run': '#!/bin/sh\necho one >&3\nexec sleep 1000\n',
      'w1/pipes': 'write p1\n',
      'w2/run': '#!/bin/sh\necho two >&3\nexec sleep 1000\n',
      'w2/pipes': 'write p2\n',
      'collect/run': '#!/bin/sh\ncat <&3 > from3 &\ncat <&4 > from4 &\nwait\n',
      'collect/pipes': 'read p1\nread p2\n',
      'collect/notification-fd': '4\n',
    });
    const s = startScan(dir);
    await waitFor(() => existsSync(join(dir, 'collect/from4')) && readFileSync(join(dir, 'collect/from4'), 'utf8') === 'two\n', 'two via fd 4');
    await waitFor(() => readFileSync(join(dir, 'collect/from3'), 'utf8') === 'one\n', 'one via fd 3');
    expect(s.stderr()).toContain('svscan: warning: unable to use collect/notification-fd 4: fd 4 is taken (held fds come first)');
  });
});
