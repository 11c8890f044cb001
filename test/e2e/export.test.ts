// `upkeep export` against a real rsyslog (imudp + imtcp, started by the test on loopback) and a local
// HTTP receiver (JSON lines, OTLP/HTTP): byte-exact fields, collector downtime, rotation, kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttp, type Server } from 'node:http';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { lineHash } from '../../src/core/logline.js';
import { UPKEEP, itWithPeer, sh, tmpdir, upkeep, which, waitFor } from '../helpers/index.js';
import { canConnect, freePort, httpReceiver } from '../helpers/net.js';

const kids: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

function keep(c: ChildProcess): ChildProcess & { out: () => string; err: () => string } {
  kids.push(c);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  c.stdout?.on('data', (b: Buffer) => out.push(b));
  c.stderr?.on('data', (b: Buffer) => err.push(b));
  return Object.assign(c, { out: () => Buffer.concat(out).toString(), err: () => Buffer.concat(err).toString() });
}

interface Rsyslog {
  udp: number;
  tcp: number;
  file: string;
  lines(): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A private rsyslogd: imudp + imtcp on loopback, every message to a file as app|host|time|SD|msg. */
async function rsyslog(dir: string): Promise<Rsyslog> {
  const udp = await freePort('udp');
  const tcp = await freePort('tcp');
  const file = join(dir, 'received.log');
  mkdirSync(join(dir, 'work'), { recursive: true });
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `global(workDirectory="${dir}/work")
module(load="imudp")
module(load="imtcp")
input(type="imudp" port="${udp}" address="127.0.0.1")
input(type="imtcp" port="${tcp}" address="127.0.0.1")
template(name="t" type="string" string="%app-name%|%hostname%|%timereported:::date-rfc3339%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${file}" template="t")
`,
  );
  let proc: ChildProcess | null = null;
  const r: Rsyslog = {
    udp,
    tcp,
    file,
    lines: () => (existsSync(file) ? readFileSync(file, 'latin1').split('\n').slice(0, -1) : []),
    async start() {
      proc = keep(spawn(which('rsyslogd')!, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] }));
      await waitFor(() => canConnect(tcp), 'rsyslogd to listen');
    },
    async stop() {
      const p = proc!;
      p.kill('SIGTERM');
      if (p.exitCode === null) await new Promise((res) => p.once('exit', res));
    },
  };
  await r.start();
  return r;
}

function multilogDir(lines: string | Buffer, args = 't s4096 n100'): string {
  const sv = tmpdir();
  mkdirSync(join(sv, 'web/log'), { recursive: true });
  const d = join(sv, 'web/log/main');
  sh(`multilog ${args} ${d}`, { input: lines });
  return d;
}

function stored(dir: string): string[] {
  return listLogdir(dir).flatMap((f) => readFileSync(join(dir, f.name), 'latin1').split('\n').slice(0, -1));
}

/** What rsyslog should have written for a stored line (our template), time to the microsecond. */
function expectSyslog(line: string, host: string): string {
  const label = line.slice(0, 25);
  const sec = Number(BigInt('0x' + label.slice(1, 17)) - (1n << 62n) - 10n);
  const us = Math.floor(parseInt(label.slice(17, 25), 16) / 1000);
  const t = new Date(sec * 1000).toISOString().slice(0, 19) + '.' + String(us).padStart(6, '0') + 'Z';
  return `web|${host}|${t}|[upkeep@32473 tai64n="${label}"]|${line.slice(26)}`;
}

describe('upkeep export', () => {
  itWithPeer(['multilog', 'rsyslogd'])('syslog over TCP (octet counting) and UDP reach a real rsyslog, field for field', async () => {
    const rs = await rsyslog(tmpdir());
    let input = '';
    for (let i = 1; i <= 1500; i++) input += `request ${i} ${'z'.repeat(i % 90)} é\n`;
    const d = multilogDir(input);
    const r = await upkeep(['export', '--to', `tcp://127.0.0.1:${rs.tcp}`, '--host', 'box1', d]);
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toMatch(/^upkeep export: stats: shipped 1500 lines \(\d+ bytes\) in 3 batches to tcp:\/\/127\.0\.0\.1:\d+, retries 0, behind 0 bytes/);
    await waitFor(() => rs.lines().length >= 1500, 'rsyslog to write 1500 lines');
    const want = stored(d).map((l) => expectSyslog(l, 'box1'));
    expect(rs.lines()[0]).toBe(want[0]);
    expect(rs.lines()).toEqual(want);
    const u = await upkeep(['export', '--to', `udp://127.0.0.1:${rs.udp}`, '--host', 'box2', '-n', '50', d]);
    expect(u.stderr.toString()).toMatch(/shipped 50 lines .* datagrams sent 50, failed 0/);
    await waitFor(() => rs.lines().length >= 1550, 'rsyslog to get the datagrams');
    expect(rs.lines().slice(1500).sort()).toEqual(stored(d).slice(-50).map((l) => expectSyslog(l, 'box2')).sort());
  });

  itWithPeer(['multilog', 'rsyslogd'])('TCP: waits out a collector restart, resumes after kill -9: every line exactly once', async () => {
    const dir = tmpdir();
    const rs = await rsyslog(dir);
    const sv = tmpdir();
    const d = join(sv, 'main');
    const ml = keep(spawn('multilog', ['t', 's4096', 'n100', d], { stdio: ['pipe', 'ignore', 'inherit'] }));
    let n = 0;
    const feed = (k: number): void => {
      let s = '';
      for (let i = 0; i < k; i++) s += `msg ${++n}\n`;
      ml.stdin!.write(s);
    };
    const cursor = join(dir, 'cursor');
    const args = ['export', '-f', '--to', `tcp://127.0.0.1:${rs.tcp}`, '--cursor-file', cursor, '--retry-max', '1', d];
    feed(300);
    let ex = keep(spawn(UPKEEP, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => rs.lines().length >= 300, 'first 300 lines');
    await rs.stop();
    feed(700); // collector down; rotations happen meanwhile
    await waitFor(() => /unable to ship to tcp:\/\/127\.0\.0\.1:\d+: connection refused: retrying/.test(ex.err()), 'a retry warning');
    await rs.start();
    await waitFor(() => rs.lines().length >= 1000, 'all 1000 lines after the restart');
    await waitFor(() => /is back, shipping again/.test(ex.err()), 'the recovery note');
    // kill -9 once the cursor records line 1000 (the cursor is saved just after the collector took the
    // batch: a kill -9 in between would legitimately send that one batch again).
    const line1000 = stored(d).find((l) => l.endsWith(' msg 1000'))!;
    await waitFor(() => {
      try {
        return JSON.parse(readFileSync(cursor, 'utf8')).dirs[d].hash === lineHash(Buffer.from(line1000, 'latin1'));
      } catch {
        return false;
      }
    }, 'the cursor to record line 1000');
    ex.kill('SIGKILL');
    await new Promise((r) => ex.once('close', r));
    feed(500);
    ex = keep(spawn(UPKEEP, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => rs.lines().length >= 1500, 'all 1500 lines');
    ex.kill('SIGTERM');
    await new Promise((r) => ex.once('close', r));
    expect(ex.err()).toMatch(/upkeep export: stats: shipped 500 lines/);
    const msgs = rs.lines().map((l) => l.split('|')[4]);
    expect(msgs).toEqual(Array.from({ length: 1500 }, (_, i) => `msg ${i + 1}`));
  });

  itWithPeer(['multilog'])('HTTP JSON lines: a receiver that fails and refuses for a while still gets every line exactly once', async () => {
    const got: Record<string, unknown>[] = [];
    let mode: 'ok' | '503' = '503';
    let hits = 0;
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
      const body: Buffer[] = [];
      req.on('data', (b: Buffer) => body.push(b));
      req.on('end', () => {
        hits++;
        if (mode === '503') {
          res.writeHead(503).end();
          return;
        }
        expect(req.headers['content-type']).toBe('application/x-ndjson');
        for (const l of Buffer.concat(body).toString().split('\n').filter(Boolean)) got.push(JSON.parse(l));
        res.writeHead(204).end();
      });
    };
    let srv = createHttp(handler);
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    let input = '';
    for (let i = 1; i <= 2000; i++) input += `event ${i}\n`;
    const d = multilogDir(Buffer.concat([Buffer.from(input), Buffer.from('bytes \xff\xfe\n', 'latin1')]));
    const ex = keep(spawn(UPKEEP, ['export', '-f', '--to', `http://127.0.0.1:${port}/ingest`, '--retry-max', '1', '--stats', '1', '--host', 'h', d], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => hits >= 2, 'two failed attempts');
    // Now refuse connections altogether, then come back on the same port.
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
    await waitFor(() => /connection refused|fetch failed/.test(ex.err()), 'a refused attempt');
    mode = 'ok';
    srv = createHttp(handler);
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    await waitFor(() => got.length >= 2001, 'all lines');
    const want = stored(d);
    expect(got.map((o) => o.tai64n)).toEqual(want.map((l) => l.slice(0, 25)));
    expect(got.slice(0, 2000).map((o) => o.message)).toEqual(Array.from({ length: 2000 }, (_, i) => `event ${i + 1}`));
    await waitFor(() => /stats: shipped 2001 lines .* behind 0 bytes, last line @4/.test(ex.err()), 'a periodic stats line');
    expect(got[2000]).toMatchObject({ service: 'web', host: 'h', message: 'bytes \ufffd\ufffd', message_base64: Buffer.from('bytes \xff\xfe', 'latin1').toString('base64') });
  });

  itWithPeer(['multilog'])('OTLP/HTTP: /v1/logs JSON with a resource per service', async () => {
    const bodies: { resourceLogs: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeLogs: { logRecords: { timeUnixNano: string; body: { stringValue?: string; bytesValue?: string } }[] }[] }[] }[] = [];
    const port = await httpReceiver((req, body, res) => {
      expect(req.url).toBe('/v1/logs');
      expect(req.headers['content-type']).toBe('application/json');
      bodies.push(JSON.parse(body.toString()));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const d = multilogDir(Buffer.from('one\ntwo \xff\n', 'latin1'), 't');
    const r = await upkeep(['export', '--to', `otlp+http://127.0.0.1:${port}`, '--host', 'h', d]);
    expect(r.code).toBe(0);
    const rl = bodies[0]!.resourceLogs[0]!;
    expect(rl.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'web' } }, { key: 'host.name', value: { stringValue: 'h' } }]);
    const recs = rl.scopeLogs[0]!.logRecords;
    expect(recs[0]!.body).toEqual({ stringValue: 'one' });
    expect(Buffer.from(recs[1]!.body.bytesValue!, 'base64')).toEqual(Buffer.from('two \xff', 'latin1'));
    const label = stored(d)[0]!.slice(0, 25);
    const ns = (BigInt('0x' + label.slice(1, 17)) - (1n << 62n) - 10n) * 1000000000n + BigInt(parseInt(label.slice(17), 16));
    expect(recs[0]!.timeUnixNano).toBe(ns.toString());
  });

  it('clock jumps: lines whose stamps go backwards are shipped once each, in file order, across a cursor resume', async () => {
    const bodies: string[] = [];
    const port = await httpReceiver((_req, body, res) => {
      bodies.push(body.toString());
      res.writeHead(200).end();
    });
    const dir = tmpdir();
    const d = join(dir, 'main');
    mkdirSync(d);
    const L = (sec: number, msg: string): string => `@40000000${sec.toString(16).padStart(8, '0')}00000000 ${msg}\n`;
    writeFileSync(join(d, 'current'), L(0x6b000200, 'a') + L(0x6b000005, 'b, clock went back') + L(0x6b000006, 'c'));
    const args = ['export', '--to', `http://127.0.0.1:${port}/x`, '--cursor-file', join(dir, 'cursor'), d];
    expect((await upkeep(args)).code).toBe(0);
    appendFileSync(join(d, 'current'), L(0x6b000001, 'd, even earlier'));
    expect((await upkeep(args)).code).toBe(0);
    const msgs = bodies.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).message);
    expect(msgs).toEqual(['a', 'b, clock went back', 'c', 'd, even earlier']);
  });

  it('HTTP: a redirect is not a delivery (the batch is retried until a 2xx), and -n lines go in --batch batches', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), Array.from({ length: 30 }, (_, i) => `@400000006b0000${(16 + i).toString(16)}00000000 m${i}\n`).join(''));
    const posts: string[] = [];
    let redirects = 0;
    const port = await httpReceiver((req, body, res) => {
      if (req.method !== 'POST') return void res.writeHead(405).end(); // (a followed redirect: a GET)
      if (redirects < 2) {
        redirects++;
        return void res.writeHead(302, { location: '/elsewhere' }).end();
      }
      posts.push(body.toString());
      res.writeHead(204).end();
    });
    const r = await upkeep(['export', '--to', `http://127.0.0.1:${port}/ingest`, '-n', '30', '--batch', '10', '--retry-max', '1', d]);
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toMatch(/unable to ship to http:\/\/127\.0\.0\.1:\d+\/ingest: .*302/);
    expect(posts.map((b) => b.split('\n').filter(Boolean).length)).toEqual([10, 10, 10]);
    const msgs = posts.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).message);
    expect(msgs).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
  });

  it('TCP: a collector that accepts and never reads does not hold TERM up; nothing counts as shipped', async () => {
    const d = tmpdir();
    const line = 'x'.repeat(1000);
    writeFileSync(join(d, 'current'), Array.from({ length: 20_000 }, (_, i) => `@400000006b000010${i.toString(16).padStart(8, '0')} ${line}\n`).join(''));
    // the collector: a small receive window (set before listen, so the accepted socket has it), never reads
    const port = await freePort();
    const py = keep(
      spawn('python3', ['-c', `import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(('127.0.0.1', ${port})); s.listen(1); print('ready', flush=True)
c,_=s.accept(); print('accepted', flush=True); time.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    await waitFor(() => py.out().includes('ready'), 'the collector');
    const cur = join(tmpdir(), 'cursor');
    const c = keep(spawn(UPKEEP, ['export', '--to', `tcp://127.0.0.1:${port}`, '--batch', '20000', '--cursor-file', cur, d], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => py.out().includes('accepted'), 'the connection');
    await new Promise((r) => setTimeout(r, 300)); // (the write is stuck: 20 MB against a 4 KB window)
    const t0 = Date.now();
    c.kill('SIGTERM');
    const code = await new Promise((r) => c.once('close', r));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(code).toBe(0);
    expect(c.err()).toMatch(/stats: shipped 0 lines .* behind \d{8} bytes/);
    expect(existsSync(cur)).toBe(false);
  });

  it('lines with no stamp at all (a log written without t): syslog NILVALUE, OTLP time 0, not 1969', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), 'plain one\n');
    let body = '';
    const port = await httpReceiver((_req, b, res) => {
      body = b.toString();
      res.writeHead(200).end('{}');
    });
    expect((await upkeep(['export', '--to', `otlp+http://127.0.0.1:${port}`, d])).code).toBe(0);
    const rec = JSON.parse(body).resourceLogs[0].scopeLogs[0].logRecords[0];
    expect(rec.timeUnixNano).toBe('0');
    expect(Number(rec.observedTimeUnixNano)).toBeGreaterThan(1.7e18);
    expect(rec.body).toEqual({ stringValue: 'plain one' });
  });

  it('HTTP: user:password in the URL become a Basic authorization, never shown; syslog URLs with a path are refused', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '@400000006b00001000000000 one\n');
    let auth: string | undefined;
    const port = await httpReceiver((req, _b, res) => {
      auth = req.headers.authorization;
      res.writeHead(req.headers.authorization ? 204 : 401).end();
    });
    const r = await upkeep(['export', '--to', `http://us%3Aer:p%40ss@127.0.0.1:${port}/in`, d]);
    expect(r.code).toBe(0);
    expect(auth).toBe(`Basic ${Buffer.from('us:er:p@ss').toString('base64')}`);
    expect(r.stderr.toString()).toMatch(new RegExp(`shipped 1 lines .* to http://127\\.0\\.0\\.1:${port}/in,`));
    expect(r.stderr.toString()).not.toContain('p%40ss');
    const bad = await upkeep(['export', '--to', 'tcp://127.0.0.1:514/path', d]);
    expect(bad.code).toBe(100);
  });

  it('a cursor file that could not be written stops the export before anything is shipped', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '@400000006b00001000000000 one\n');
    let posts = 0;
    const port = await httpReceiver((_req, _b, res) => {
      posts++;
      res.writeHead(204).end();
    });
    const cur = join(tmpdir(), 'missing-dir', 'cursor');
    const r = await upkeep(['export', '--to', `http://127.0.0.1:${port}/in`, '--cursor-file', cur, d]);
    expect(r.code).toBe(111);
    expect(r.stderr.toString()).toBe(`upkeep export: fatal: unable to write cursor file ${cur}: file does not exist\n`);
    expect(posts).toBe(0);
  });

  it('HTTP 413 (body too large): the batch goes again in halves, every line once, in order', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), Array.from({ length: 10 }, (_, i) => `@400000006b0000${(16 + i).toString(16)}00000000 m${i}\n`).join(''));
    const posts: string[][] = [];
    const port = await httpReceiver((_req, body, res) => {
      const ls = body.toString().split('\n').filter(Boolean);
      if (ls.length > 3) return void res.writeHead(413).end();
      posts.push(ls.map((l) => JSON.parse(l).message as string));
      res.writeHead(204).end();
    });
    const r = await upkeep(['export', '--to', `http://127.0.0.1:${port}/in`, '--batch', '10', d]);
    expect(r.code).toBe(0);
    expect(posts.flat()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(posts.every((p) => p.length <= 3)).toBe(true);
    expect(r.stderr.toString()).toMatch(/shipped 10 lines .* in 1 batches/);
  });

  it('HTTP: a collector that sends its headers and stalls the body does not hold TERM up; a stray % in credentials is a usage error', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '@400000006b00001000000000 one\n');
    let got = 0;
    const srv = createHttp((req, res) => {
      req.resume();
      got++;
      res.writeHead(200);
      res.write('partial'); // never ended
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const cur = join(tmpdir(), 'cursor');
    const c = keep(spawn(UPKEEP, ['export', '--to', `http://127.0.0.1:${port}/x`, '--cursor-file', cur, d], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => got > 0, 'the request');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    c.kill('SIGTERM');
    const code = await new Promise((r) => c.once('close', r));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(code).toBe(0);
    expect(c.err()).toMatch(/stats: shipped 0 lines/);
    expect(existsSync(cur)).toBe(false);
    const bad = await upkeep(['export', '--to', 'http://a%zz:b@127.0.0.1:9/x', d]);
    expect(bad.code).toBe(100);
  });

  it('refuses --retry-max 0 (a retry loop with no wait) with exit 100', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '');
    const r = await upkeep(['export', '--to', 'tcp://127.0.0.1:9', '--retry-max', '0', d]);
    expect(r.code).toBe(100);
    expect(r.stderr.toString()).toBe('upkeep export: usage: --retry-max must be at least 1 (second)\n');
  });

  it('refuses a missing or unknown destination with exit 100', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '');
    expect((await upkeep(['export', d])).code).toBe(100);
    const r = await upkeep(['export', '--to', 'ftp://x', d]);
    expect(r.code).toBe(100);
    expect(r.stderr.toString()).toMatch(/^upkeep export: usage: --to: not udp:\/\/, tcp:\/\//);
  });
});
