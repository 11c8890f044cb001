// The control plane of upkeep svscan (issue 6): the command socket's event stream (snapshot, then live
// events), `upkeep ctl` commands, services added at run time, a subscriber that stops reading, a connection
// from another user refused, the fallback socket path, and `upkeep wait`.
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { socketPath } from '../../src/io/control-socket.js';
import { run, tmpdir, upkeep, waitFor, which } from '../helpers/index.js';
import { files, journal, startScan, tree, waitEvent } from './svscan-helpers.js';

function sockOf(dir: string): string {
  return socketPath(join(dir, '.upkeep'));
}

async function ready(dir: string): Promise<void> {
  await waitFor(() => existsSync(sockOf(dir)), 'the command socket');
}

/** A raw connection that collects lines. */
function connect(path: string, first: string): { sock: Socket; lines: string[]; closed: Promise<void> } {
  const sock = createConnection(path);
  const lines: string[] = [];
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (t: string) => {
    buf += t;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.write(`${first}\n`);
  return { sock, lines, closed };
}

const fields = (l: string): string[] => l.split('\t');

describe('events and ctl', () => {
  it('a subscriber gets the snapshot, then live events in the documented field order; ctl replies say what happened', async () => {
    const dir = tree();
    files(dir, { 'web/run': '#!/bin/sh\nexec sleep 1000\n', 'idle/run': '#!/bin/sh\nexec sleep 1000\n', 'idle/down': '' });
    startScan(dir);
    await ready(dir);
    await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web', 'web started');

    const snap = await upkeep(['events', '--dir', dir]);
    expect(snap.code).toBe(0);
    const sl = snap.stdout.toString().trimEnd().split('\n');
    expect(sl.map((l) => fields(l).slice(0, 2).join(' '))).toEqual(['state idle', 'state web', 'sync -']);
    const web = fields(sl[1]!);
    expect(web[2]).toMatch(/^\d+\.\d{6}$/);
    expect(web.slice(3).map((f) => f.split('=')[0])).toEqual(['state', 'want', 'pid', 'since', 'ready', 'source', 'target']);
    expect(web[3]).toBe('state=up');
    expect(fields(sl[0]!)[3]).toBe('state=down');
    expect(web[8]).toBe('source=dir');

    const sub = connect(sockOf(dir), 'events -f');
    await waitFor(() => sub.lines.some((l) => l.startsWith('sync\t')), 'the snapshot');

    const down = await upkeep(['ctl', '--dir', dir, 'down', 'web']);
    expect(down.code).toBe(0);
    expect(down.stdout.toString()).toMatch(/^ok\tdown\tweb\twanted down: pid \d+ sent SIGTERM\n$/);
    const exit = await waitFor(() => sub.lines.find((l) => l.startsWith('exit\tweb\t')), 'the exit event');
    expect(fields(exit).slice(3).map((f) => f.split('=')[0])).toEqual(['pid', 'code', 'signal', 'uptime', 'operator', 'wanted']);
    expect(exit).toMatch(/\tcode=-\tsignal=SIGTERM\tuptime=[\d.]+\toperator=true\twanted=down$/);
    // who sent it: upkeep ctl names itself (`from PID PROGRAM`); svscan checks the pid and reads its uid in /proc
    const uid = process.getuid!();
    expect(sub.lines.some((l) => l.startsWith('control\tweb\t') && new RegExp(`\tcommand=down\tvia=socket\tsender=uid ${uid} pid \\d+ \\(upkeep ctl\\)$`).test(l))).toBe(true);
    const jl = await waitEvent(dir, (e) => e.event === 'control' && e.service === 'web' && e.command === 'down', 'the control line');
    expect(jl).toMatchObject({ via: 'socket', sender: expect.stringMatching(new RegExp(`^uid ${uid} pid \\d+ \\(upkeep ctl\\)$`)) });
    // a raw client that names itself with a pid that runs, and one whose pid does not
    const me = connect(sockOf(dir), `from ${process.pid} vitest`);
    me.sock.write('up web\n');
    await waitFor(() => me.lines.some((l) => l.startsWith('ok\tup\tweb')), 'the up reply');
    me.sock.destroy();
    await waitEvent(dir, (e) => e.event === 'control' && e.command === 'up' && e.sender === `uid ${uid} pid ${process.pid} (vitest)`, 'a sender checked in /proc');
    const ghost = connect(sockOf(dir), 'from 999999999 ghost');
    ghost.sock.write('down web\n');
    await waitFor(() => ghost.lines.some((l) => l.startsWith('ok\tdown\tweb')), 'the down reply');
    ghost.sock.destroy();
    await waitEvent(dir, (e) => e.event === 'control' && e.command === 'down' && e.sender === 'pid 999999999 (ghost), not running', 'a sender that does not run');
    const jdown = await upkeep(['ctl', '--json', '--dir', dir, 'up', 'web']);
    expect(jdown.code).toBe(0);
    await waitEvent(dir, (e) => e.event === 'control' && e.command === 'up' && /^uid \d+ pid \d+ \(upkeep ctl\)$/.test(String(e.sender)) && e.sender !== `uid ${uid} pid ${process.pid} (vitest)`, 'a JSON request names its client');
    await upkeep(['ctl', '--dir', dir, 'down', 'web']);

    const up = await upkeep(['ctl', '--dir', dir, 'up', 'idle']);
    expect(up.stdout.toString()).toBe('ok\tup\tidle\twanted up: starting\n');
    await waitFor(() => sub.lines.find((l) => l.startsWith('start\tidle\t')), 'idle started');
    const once = await upkeep(['ctl', '--dir', dir, 'once', 'idle']);
    expect(once.stdout.toString()).toMatch(/^ok\tonce\tidle\trun once: pid \d+ left running\n$/);
    const sig = await upkeep(['ctl', '--dir', dir, 'signal', 'idle', 'USR1']);
    expect(sig.stdout.toString()).toMatch(/^ok\tsignal\tidle\tpid \d+ sent SIGUSR1\n$/);
    await waitFor(() => sub.lines.find((l) => l.startsWith('exit\tidle\t') && l.includes('signal=SIGUSR1')), 'idle killed by USR1');
    const restart = await upkeep(['ctl', '--dir', dir, 'restart', 'web']);
    expect(restart.stdout.toString()).toBe('ok\trestart\tweb\twas down: starting\n');

    const bad = await upkeep(['ctl', '--dir', dir, 'up', 'nosuch']);
    expect(bad.code).toBe(1);
    expect(bad.stdout.toString()).toBe('error\tup\tnosuch\tno such service: nosuch\n');
    const unknown = await upkeep(['ctl', '--dir', dir, 'frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout.toString()).toBe('error\tfrobnicate\t-\tunknown command: frobnicate\n');
    const st = await upkeep(['ctl', '--dir', dir, 'status', 'web']);
    expect(st.stdout.toString()).toMatch(/^state\tweb\t[\d.]+\tstate=up\twant=up\tpid=\d+\t.*\nok\tstatus\tweb\t1 service\n$/);
    const js = await upkeep(['ctl', '--dir', dir, '--json', 'status']);
    const objs = js.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.map((o) => o.event)).toEqual(['state', 'state', 'ok']);
    sub.sock.destroy();
  });

  it('services added at run time: no directory in the tree, untouched by scans, listed by ctl status and svstat --dir; remove', async () => {
    const dir = tree();
    files(dir, { 'web/run': '#!/bin/sh\nexec sleep 1000\n' });
    startScan(dir);
    await ready(dir);
    const work = tmpdir('upkeep-rt-');
    const add = await upkeep(['ctl', '--dir', dir, 'add', 'tick', '--cwd', work, '--env', 'GREETING=hello there', '--', 'sh', '-c', 'echo "$GREETING" > out; pwd >> out; exec sleep 1000']);
    expect(add.stderr.toString()).toBe('');
    expect(add.stdout.toString()).toMatch(/^ok\tadd\ttick\tadded, pid \d+\n$/);
    await waitFor(() => existsSync(join(work, 'out')) && statSync(join(work, 'out')).size > 12, 'tick ran in its cwd');
    expect(existsSync(join(dir, 'tick'))).toBe(false);
    const again = await upkeep(['ctl', '--dir', dir, 'add', 'web', '--', 'true']);
    expect(again.stdout.toString()).toBe('error\tadd\tweb\tweb already exists\n');

    const resc = await upkeep(['ctl', '--dir', dir, 'rescan']);
    expect(resc.stdout.toString()).toBe('ok\trescan\t-\tscanned: 2 services\n');
    const st = await upkeep(['ctl', '--dir', dir, 'status']);
    const lines = st.stdout.toString().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^state\ttick\t.*\tstate=up\t.*\tsource=runtime\t/);
    expect(lines[1]).toMatch(/^state\tweb\t.*\tsource=dir\t/);
    const sv = await upkeep(['svstat', '--dir', dir]);
    expect(sv.stdout.toString()).toMatch(new RegExp(`^${dir}/web: up \\(pid \\d+\\) \\d+ seconds\\n${dir}/.upkeep/runtime/tick: up \\(pid \\d+\\) \\d+ seconds\\n$`));
    const svj = await upkeep(['svstat', '--json', '--dir', dir, 'tick']);
    expect(JSON.parse(svj.stdout.toString())).toMatchObject({ service: 'tick', state: 'up', source: 'runtime' });

    const rmDir = await upkeep(['ctl', '--dir', dir, 'remove', 'web']);
    expect(rmDir.stdout.toString()).toBe('error\tremove\tweb\tweb is a directory of the tree: remove its directory instead\n');
    const rm = await upkeep(['ctl', '--dir', dir, 'remove', 'tick']);
    expect(rm.stdout.toString()).toBe('ok\tremove\ttick\tstopped and removed\n');
    await waitFor(() => journal(dir).some((e) => e.event === 'remove' && e.service === 'tick'), 'the remove in the journal');
    expect(existsSync(join(dir, '.upkeep/runtime/tick'))).toBe(false);
    const after = await upkeep(['ctl', '--dir', dir, 'status']);
    expect(after.stdout.toString()).not.toContain('tick');
  });

  it('a subscriber that stops reading is dropped and told so; the supervisor keeps answering', async () => {
    const dir = tree();
    files(dir, { 'web/run': '#!/bin/sh\nexec sleep 1000\n' });
    const s = startScan(dir, ['--scan-interval', '1', '--events-buffer', '4096']);
    await ready(dir);
    await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web', 'web started');
    const slow = connect(sockOf(dir), 'events -f');
    await waitFor(() => slow.lines.some((l) => l.startsWith('sync\t')), 'the snapshot');
    slow.sock.pause(); // reads nothing more
    // 12000 commands, each an event of ~90 bytes: far more than the kernel's socket buffer plus 4096
    const n = 12_000;
    const busy = connect(sockOf(dir), Array(n).fill('signal web CONT').join('\n'));
    await waitFor(() => busy.lines.length >= n, `${n} replies`, 60_000);
    expect(busy.lines.every((l) => l.startsWith('ok\tsignal\tweb\t'))).toBe(true);
    await waitEvent(dir, (e) => e.event === 'warning' && String(e.msg).includes('event subscriber left 4096 bytes unread'), 'the drop warning');
    const st = await upkeep(['ctl', '--dir', dir, 'status', 'web']);
    expect(st.code).toBe(0);
    slow.sock.resume();
    await slow.closed;
    expect(slow.lines.length).toBeLessThan(n);
    expect(slow.lines.at(-1)).toMatch(/^dropped\t-\t[\d.]+\treason=buffer-full\tlimit=4096$/);
    busy.sock.destroy();
    expect(s.proc.exitCode).toBe(null);
  }, 90_000);

  it.runIf(which('setpriv') !== undefined && process.getuid?.() === 0)('another user cannot connect (EACCES): the socket is 0600', async () => {
    const dir = tree();
    // open every directory on the way, so only the socket's own mode stands in the way
    for (let d = dir; d !== '/tmp' && d !== '/'; d = join(d, '..')) chmodSync(d, 0o755);
    files(dir, { 'web/run': '#!/bin/sh\nexec sleep 1000\n' });
    startScan(dir);
    await ready(dir);
    chmodSync(join(dir, '.upkeep'), 0o755);
    expect(statSync(sockOf(dir)).mode & 0o777).toBe(0o600);
    const probe = `const s=require('net').createConnection(${JSON.stringify(sockOf(dir))});s.on('connect',()=>{console.log('connected');s.end()});s.on('error',e=>console.log(e.code))`;
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe]);
    expect(r.stdout.toString()).toBe('EACCES\n');
    // the probe can tell: with the socket opened to everyone, the same user connects
    chmodSync(sockOf(dir), 0o666);
    const open = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe]);
    expect(open.stdout.toString()).toBe('connected\n');
    const me = await upkeep(['ctl', '--dir', dir, 'status']);
    expect(me.code).toBe(0);
  });

  it('where DIR/.upkeep/control.sock is too long for a socket path, /tmp/upkeep-UID/HASH.sock (0700) is used', async () => {
    let deep = tree();
    while (join(deep, '.upkeep/control.sock').length <= 110) {
      deep = join(deep, 'a-rather-long-directory-name');
    }
    mkdirSync(deep, { recursive: true });
    files(deep, { 'web/run': '#!/bin/sh\nexec sleep 1000\n' });
    const sp = sockOf(deep);
    expect(sp).toMatch(new RegExp(`^/tmp/upkeep-${process.getuid?.() ?? 0}/[0-9a-f]{24}\\.sock$`));
    startScan(deep);
    await waitFor(() => existsSync(sp), 'the fallback socket');
    expect(statSync(join(sp, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(sp).mode & 0o777).toBe(0o600);
    const st = await upkeep(['ctl', '--dir', deep, 'status']);
    expect(st.stdout.toString()).toMatch(/^state\tweb\t/);
    rmSync(sp, { force: true });
  });

  it('no svscan: ctl and events exit 111', async () => {
    const dir = tree();
    const c = await upkeep(['ctl', '--dir', dir, 'status']);
    expect(c.code).toBe(111);
    expect(c.stderr.toString()).toMatch(/^upkeep ctl: fatal: unable to connect to svscan in .*: /);
    const e = await upkeep(['events', '--dir', dir]);
    expect(e.code).toBe(111);
  }, 20_000);
});

describe('upkeep wait', () => {
  it('--up, --ready (notification-fd), --down; the timeout exits 1 (svscan answering or not); usage 100', async () => {
    const dir = tree();
    files(dir, {
      // ready when the file 'go' exists
      'svc/run': '#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\necho >&3\nexec sleep 1000\n',
      'svc/notification-fd': '3\n',
      'svc/down': '',
    });
    startScan(dir);
    await ready(dir);
    const t0 = Date.now();
    const notUp = await upkeep(['wait', '--dir', dir, 'svc', '--up', '--timeout', '0.3']);
    expect(notUp.code).toBe(1);
    expect(notUp.stderr.toString()).toBe('upkeep wait: svc is not up after 0.3 s\n');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    const down = await upkeep(['wait', '--dir', dir, 'svc', '--down', '--timeout', '5']);
    expect(down.code).toBe(0);

    const waitUp = upkeep(['wait', '--dir', dir, 'svc', '--up', '--timeout', '10']);
    const waitReady = upkeep(['wait', '--dir', dir, 'svc', '--ready', '--timeout', '10']);
    await waitFor(async () => (await upkeep(['events', '--dir', dir])).code === 0, 'svscan answering');
    await upkeep(['ctl', '--dir', dir, 'up', 'svc']);
    expect((await waitUp).code).toBe(0);
    const notReady = await upkeep(['wait', '--dir', dir, 'svc', '--ready', '--timeout', '0.2']);
    expect(notReady.code).toBe(1);
    files(dir, { 'svc/go': '' });
    expect((await waitReady).code).toBe(0);
    await waitFor(() => journal(dir).some((e) => e.event === 'ready' && e.service === 'svc'), 'the ready line in the journal');
    // already ready: the snapshot says so
    expect((await upkeep(['wait', '--dir', dir, 'svc', '--ready', '--timeout', '1'])).code).toBe(0);

    const waitDown = upkeep(['wait', join(dir, 'svc'), '--down']);
    await upkeep(['ctl', '--dir', dir, 'down', 'svc']);
    expect((await waitDown).code).toBe(0);

    expect((await upkeep(['wait', '--dir', dir, 'svc'])).code).toBe(100);
    expect((await upkeep(['wait', '--dir', dir, 'svc', '--up', '--down'])).code).toBe(100);
    expect((await upkeep(['wait', '--dir', dir, 'svc', '--up', '--timeout', 'x'])).code).toBe(100);
    // no svscan: retried for the timeout (exit 1), or 5 s without one (then 111)
    const none = tmpdir();
    const t1 = Date.now();
    const nt = await upkeep(['wait', '--dir', none, 'svc', '--up', '--timeout', '0.4']);
    expect(nt.code).toBe(1);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(400);
    expect(nt.stderr.toString()).toBe(`upkeep wait: svc is not up after 0.4 s (no svscan answers in ${none})\n`);
  }, 30_000);
});
