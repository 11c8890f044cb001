// docs/collectors.md, tested with Debian's real syslog-ng (syslog-ng-core, unpacked beside rsyslog by
// .ci/install-syslog-ng): its file() source following `current` across rotations by `upkeep multilog`
// and by svscan's shared logger (every line exactly once, in order, byte for byte), its wildcard-file()
// source reading the archives under bursts, and its syslog() network source receiving `upkeep export`
// over TCP (octet counting) and UDP, field for field, with a syslog-ng restart in the middle of a
// followed export. The configurations are the ones the doc shows, read from it (paths and ports replaced).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { lineHash } from '../../src/core/logline.js';
import { itWithPeer, sh, tmpdir, UPKEEP, upkeep, waitFor } from '../helpers/index.js';
import { canConnect, freePort } from '../helpers/net.js';
import { docConfig, SYSLOG_NG, syslogNg, type SyslogNg } from '../helpers/syslog-ng.js';
import { files, startScan, tree } from './svscan-helpers.js';

const kids: ChildProcess[] = [];
const daemons: SyslogNg[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL');
  for (const d of daemons.splice(0)) d.kill();
});

function keep(c: ChildProcess): ChildProcess & { err: () => string } {
  kids.push(c);
  const err: Buffer[] = [];
  c.stderr?.on('data', (b: Buffer) => err.push(b));
  return Object.assign(c, { err: () => Buffer.concat(err).toString() });
}

/** syslog-ng started on the doc's configuration `name`, values replaced; state files in `dir`. */
async function startSyslogNg(dir: string, name: string, replace: Record<string, string>): Promise<SyslogNg> {
  const conf = join(dir, 'syslog-ng.conf');
  writeFileSync(conf, '@version: 3.38\n' + docConfig(name, replace));
  const s = syslogNg(dir, conf);
  daemons.push(s);
  await s.start();
  return s;
}

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'latin1') : '');
const lines = (f: string): string[] => read(f).split('\n').slice(0, -1);
const unlabel = (l: string): string => l.replace(/^@[0-9a-f]{24} /, '');
const isHeader = (l: string): boolean => unlabel(l).startsWith('upkeep-header ');
/** The stored lines of a log directory, archives (by name) then current, as one text. */
const storedText = (logdir: string): string =>
  readdirSync(logdir)
    .filter((n) => n.startsWith('@'))
    .sort()
    .concat(existsSync(join(logdir, 'current')) ? ['current'] : [])
    .map((n) => readFileSync(join(logdir, n), 'latin1'))
    .join('');

interface Writer {
  logdir: string;
  write(text: string): void;
  finish(): Promise<void>;
}

/** `upkeep multilog` reading a pipe from the test. */
function multilogWriter(args: string[]): Writer {
  const logdir = join(tmpdir('upkeep-sng-'), 'main');
  const ml = keep(spawn(UPKEEP, ['multilog', ...args, logdir], { stdio: ['pipe', 'ignore', 'pipe'] }));
  const done = new Promise<number | null>((r) => ml.on('exit', (c) => r(c)));
  return {
    logdir,
    write: (t) => ml.stdin!.write(t, 'latin1'),
    async finish() {
      ml.stdin!.end();
      expect(await done).toBe(0);
    },
  };
}

/** svscan's shared logger (a `log/script`), its service copying a file the test appends to. */
function svscanWriter(script: string[]): Writer {
  const dir = tree();
  files(dir, { 'web/input': '', 'web/run': '#!/bin/sh\nexec tail -n +1 -F input\n', 'web/log/script': script.join('\n') + '\n' });
  const s = startScan(dir);
  return {
    logdir: join(dir, 'web/log/main'),
    write: (t) => appendFileSync(join(dir, 'web/input'), t, 'latin1'),
    async finish() {
      s.proc.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    },
  };
}

/**
 * syslog-ng follows `current` (the doc's file() source) while the writer logs 40 batches, each smaller
 * than `s` (so at most one rotation per batch) and each awaited at syslog-ng's output before the next:
 * about 20 rotations. syslog-ng's output must be the log directory's contents, byte for byte.
 */
async function followCurrent(w: Writer, base: string): Promise<void> {
  const out = join(base, 'out.txt');
  const sng = await startSyslogNg(base, 'syslog-ng-current', { '/service/web/log/main': w.logdir, '/var/log/collected/web.log': out });
  const data = (): string[] => lines(out).filter((l) => !isHeader(l)).map(unlabel);
  const sent: string[] = [];
  for (let b = 0; b < 40; b++) {
    const batch = Array.from({ length: 30 }, (_, i) => `b${b} l${i} ${'x'.repeat((b * 7 + i * 3) % 40)}`);
    if (b === 17) batch[5] = 'not utf-8: \xff\xfe\x80 end';
    sent.push(...batch);
    w.write(batch.join('\n') + '\n');
    await waitFor(() => data().length >= sent.length, `batch ${b} at syslog-ng`).catch((e: Error) => {
      throw new Error(`${e.message} (has ${data().length} of ${sent.length} lines); syslog-ng said: ${sng.err()}`);
    });
  }
  await w.finish();
  const archives = readdirSync(w.logdir).filter((n) => n.startsWith('@'));
  expect(archives.length).toBeGreaterThanOrEqual(15);
  // The writer may have added lines at exit (svscan's exit note): wait for them too, then compare.
  await waitFor(() => read(out).length >= storedText(w.logdir).length, 'syslog-ng to have read everything');
  expect(read(out)).toBe(storedText(w.logdir));
  expect(data().filter((l) => !l.startsWith('upkeep: exit '))).toEqual(sent);
  const headers = lines(out).filter(isHeader);
  const nonEmpty = [...archives, 'current'].filter((n) => read(join(w.logdir, n)) !== '');
  expect(headers.length).toBe(nonEmpty.length); // one per file
  expect(new Set(headers.map((h) => /id=(\w+)/.exec(h)![1])).size).toBe(headers.length);
  await sng.stop();
}

describe('syslog-ng reading log directories (docs/collectors.md)', () => {
  itWithPeer([SYSLOG_NG])('file() follows `current` of `upkeep multilog` across ~20 rotations: every line once, in order, byte for byte', async () => {
    await followCurrent(multilogWriter(['t', '%header', 's4096', 'n999']), tmpdir('upkeep-sng-'));
  });

  itWithPeer([SYSLOG_NG, 'tail'])("file() follows `current` of svscan's shared logger (log/script) across rotations", async () => {
    await followCurrent(svscanWriter(['t', '%header', 's4096', 'n999', './main']), tmpdir('upkeep-sng-'));
  });

  itWithPeer([SYSLOG_NG])('wildcard-file() reads the archives under bursts and %rotate: every line exactly once, each archive in order', async () => {
    const base = tmpdir('upkeep-sng-');
    const out = join(base, 'out.txt');
    const w = multilogWriter(['t', '%header', '%rotate=1s', 's4096', 'n999']);
    mkdirSync(w.logdir); // before syslog-ng starts, as in a real deployment (it would also find it later)
    const sng = await startSyslogNg(base, 'syslog-ng-archives', { '/service/web/log/main': w.logdir, '/var/log/collected/web.log': out });
    const sent: string[] = [];
    // 2000 lines in 4 bursts (many rotations each, faster than any polling), then 3 lines left for %rotate.
    for (let b = 0; b < 4; b++) {
      const batch = Array.from({ length: 500 }, (_, i) => `burst ${b} line ${i} ${'y'.repeat((i * 11) % 50)}`);
      sent.push(...batch);
      w.write(batch.join('\n') + '\n');
    }
    sent.push('last 1', 'last 2', 'last 3');
    w.write('last 1\nlast 2\nlast 3\n');
    const data = (): string[] => lines(out).filter((l) => !isHeader(l)).map(unlabel);
    await waitFor(() => data().length >= sent.length, 'every line at syslog-ng', 20_000).catch((e: Error) => {
      throw new Error(`${e.message} (has ${data().length} of ${sent.length}); syslog-ng said: ${sng.err()}`);
    });
    await w.finish();
    const archives = readdirSync(w.logdir).filter((n) => n.startsWith('@')).sort();
    expect(archives.length).toBeGreaterThan(30);
    const got = lines(out);
    expect(got.length).toBe(sent.length + archives.length); // one header per archive, nothing else
    expect([...got].sort()).toEqual(archives.flatMap((a) => lines(join(w.logdir, a))).sort()); // exactly once, byte for byte
    const pos = new Map(got.map((l, i) => [l, i]));
    for (const a of archives) {
      const idx = lines(join(w.logdir, a)).map((l) => pos.get(l)!);
      expect(idx).toEqual([...idx].sort((x, y) => x - y)); // an archive's lines in its order
    }
    expect(new Set(got.filter(isHeader).map((h) => /id=(\w+)/.exec(h)![1])).size).toBe(archives.length);
    await sng.stop();
  });
});

interface Receiver {
  sng: SyslogNg;
  tcp: number;
  udp: number;
  lines(): string[];
  start(): Promise<void>;
}

/** syslog-ng with the doc's syslog() source on loopback, writing PROGRAM|HOST|ISODATE|SDATA|MESSAGE lines. */
async function receiver(dir: string): Promise<Receiver> {
  const tcp = await freePort('tcp');
  const udp = await freePort('udp');
  const out = join(dir, 'received.log');
  const sng = await startSyslogNg(dir, 'syslog-ng-network', {
    'ip("0.0.0.0")': 'ip("127.0.0.1")',
    'port(601)': `port(${tcp})`,
    'port(514)': `port(${udp})`,
    '/var/log/collected/web.log': out,
  });
  const r: Receiver = {
    sng,
    tcp,
    udp,
    lines: () => lines(out),
    async start() {
      await sng.start();
      await waitFor(() => canConnect(tcp), 'syslog-ng to listen');
    },
  };
  await waitFor(() => canConnect(tcp), 'syslog-ng to listen');
  return r;
}

/** A multilog (Debian's) directory /tmp/.../web/log/main holding `input`: the service is "web". */
function multilogDir(input: string): string {
  const sv = tmpdir('upkeep-sng-');
  mkdirSync(join(sv, 'web/log'), { recursive: true });
  const d = join(sv, 'web/log/main');
  sh(`multilog t s4096 n100 ${d}`, { input: Buffer.from(input, 'latin1') });
  return d;
}

const stored = (dir: string): string[] => listLogdir(dir).flatMap((f) => lines(join(dir, f.name)));

/** What syslog-ng should write for a stored line with the doc's template: time in UTC, microseconds. */
function expectLine(line: string, host: string): string {
  const label = line.slice(0, 25);
  const sec = Number(BigInt('0x' + label.slice(1, 17)) - (1n << 62n) - 10n);
  const us = Math.floor(parseInt(label.slice(17, 25), 16) / 1000);
  const t = new Date(sec * 1000).toISOString().slice(0, 19) + '.' + String(us).padStart(6, '0') + '+00:00';
  return `web|${host}|${t}|[upkeep@32473 tai64n="${label}"]|${line.slice(26)}`;
}

describe('upkeep export to syslog-ng (docs/collectors.md)', () => {
  itWithPeer([SYSLOG_NG, 'multilog'])('syslog() source over TCP (octet counting) and UDP: app-name, hostname, microseconds, message bytes', async () => {
    const rx = await receiver(tmpdir('upkeep-sng-'));
    let input = '';
    for (let i = 1; i <= 1500; i++) input += `request ${i} ${'z'.repeat(i % 90)} \xc3\xa9 ${i % 100 === 0 ? '\xff\xfe bad' : ''}\n`;
    input += '  leading and trailing spaces  \n';
    const d = multilogDir(input);
    const r = await upkeep(['export', '--to', `tcp://127.0.0.1:${rx.tcp}`, '--host', 'box1', d]);
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toMatch(/^upkeep export: stats: shipped 1501 lines \(\d+ bytes\) in \d+ batches to tcp:\/\/127\.0\.0\.1:\d+, retries 0, behind 0 bytes/);
    await waitFor(() => rx.lines().length >= 1501, 'syslog-ng to write 1501 lines');
    const want = stored(d).map((l) => expectLine(l, 'box1'));
    expect(rx.lines()[0]).toBe(want[0]);
    expect(rx.lines()).toEqual(want);
    const u = await upkeep(['export', '--to', `udp://127.0.0.1:${rx.udp}`, '--host', 'box2', '-n', '50', d]);
    expect(u.stderr.toString()).toMatch(/shipped 50 lines .* datagrams sent 50, failed 0/);
    await waitFor(() => rx.lines().length >= 1551, 'syslog-ng to get the datagrams');
    expect(rx.lines().slice(1501).sort()).toEqual(stored(d).slice(-50).map((l) => expectLine(l, 'box2')).sort());
    await rx.sng.stop();
  });

  itWithPeer([SYSLOG_NG, 'multilog'])('TCP: waits out a syslog-ng restart, resumes after kill -9: every line exactly once, in order', async () => {
    const dir = tmpdir('upkeep-sng-');
    const rx = await receiver(dir);
    const d = join(tmpdir('upkeep-sng-'), 'main');
    const ml = keep(spawn('multilog', ['t', 's4096', 'n100', d], { stdio: ['pipe', 'ignore', 'inherit'] }));
    let n = 0;
    const feed = (k: number): void => {
      let s = '';
      for (let i = 0; i < k; i++) s += `msg ${++n}\n`;
      ml.stdin!.write(s);
    };
    const cursor = join(dir, 'cursor');
    const args = ['export', '-f', '--to', `tcp://127.0.0.1:${rx.tcp}`, '--cursor-file', cursor, '--retry-max', '1', d];
    feed(300);
    let ex = keep(spawn(UPKEEP, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    await waitFor(() => rx.lines().length >= 300, 'first 300 lines');
    await rx.sng.stop();
    feed(700); // syslog-ng down; the logger rotates meanwhile
    await waitFor(() => /unable to ship to tcp:\/\/127\.0\.0\.1:\d+: connection refused: retrying/.test(ex.err()), 'a retry warning');
    await rx.start();
    await waitFor(() => rx.lines().length >= 1000, 'all 1000 lines after the restart');
    await waitFor(() => /is back, shipping again/.test(ex.err()), 'the recovery note');
    // kill -9 once the cursor records line 1000 (saved just after the kernel took the batch).
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
    ex = keep(spawn(UPKEEP, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    await waitFor(() => rx.lines().length >= 1500, 'all 1500 lines');
    ex.kill('SIGTERM');
    await new Promise((r) => ex.once('close', r));
    expect(ex.err()).toMatch(/upkeep export: stats: shipped 500 lines/);
    const msgs = rx.lines().map((l) => l.split('|')[4]);
    expect(msgs).toEqual(Array.from({ length: 1500 }, (_, i) => `msg ${i + 1}`));
    expect(rx.lines().every((l) => l.startsWith('main|'))).toBe(true); // the service of a bare log directory is its name
    await rx.sng.stop();
  });
});
