// Byte-for-byte compatibility with Debian's daemontools: the same scenario (reference 3.3's table) run
// against Debian's supervise and upkeep supervise gives the same status bytes (timestamps and pids
// masked), and Debian's svc/svstat/svok work against upkeep supervise and upkeep's against Debian's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { itWithPeer, run, tmpdir, upkeep, waitFor, type RunResult } from '../helpers/index.js';
import {
  masked,
  readStatus,
  serviceDir,
  SLEEPER,
  startSupervisor,
  waitStatus,
  type Impl,
  type RawStatus,
} from './supervise-helpers.js';

const PEERS = ['supervise', 'svc', 'svstat', 'svok'];

function tool(impl: Impl, prog: string, args: string[]): Promise<RunResult> {
  return impl === 'upkeep' ? upkeep([prog, ...args]) : run(prog, args);
}

/** Debian's and upkeep's svstat on `dir` agree (Debian's runs before and after, in case seconds tick). */
async function svstatBoth(dir: string): Promise<string> {
  const before = (await run('svstat', [dir])).stdout.toString();
  const ours = (await upkeep(['svstat', dir])).stdout.toString();
  const after = (await run('svstat', [dir])).stdout.toString();
  // Same line but for the seconds, which may tick between the runs: before <= ours <= after.
  const secs = (line: string) => Number(/ (\d+) seconds/.exec(line)?.[1] ?? -1);
  const shape = (line: string) => line.replace(/ \d+ seconds/, ' S seconds');
  expect(shape(ours)).toBe(shape(before));
  expect(shape(after)).toBe(shape(before));
  expect(secs(ours)).toBeGreaterThanOrEqual(secs(before));
  expect(secs(ours)).toBeLessThanOrEqual(secs(after));
  return ours.replace(dir, 'DIR').replace(/pid \d+/, 'pid P').replace(/ \d+ seconds/, ' S seconds');
}

interface Snap {
  what: string;
  status: string;
  svstat: string;
  svok: number[];
}

/** The reference 3.3 situations, driven alternately by Debian's svc and upkeep's svc. */
async function scenario(impl: Impl): Promise<Snap[]> {
  const snaps: Snap[] = [];
  let n = 0;
  const send = async (dir: string, opt: string) => {
    const r = await tool(n++ % 2 === 0 ? 'debian' : 'upkeep', 'svc', [opt, dir]);
    expect([r.code, r.stderr.toString()]).toEqual([0, '']);
  };
  const snap = async (dir: string, what: string, st: RawStatus) => {
    const svok = [(await run('svok', [dir])).code!, (await upkeep(['svok', dir])).code!];
    snaps.push({ what, status: masked(st), svstat: await svstatBoth(dir), svok });
  };
  const rewritten = async (dir: string, opt: string, what: string) => {
    const ino = readStatus(dir)!.ino;
    await send(dir, opt);
    return waitStatus(dir, (s) => s.ino !== ino, `${what}: status rewritten`);
  };

  const a = serviceDir(SLEEPER);
  const sup = startSupervisor(impl, a);
  await snap(a, 'running', await waitStatus(a, (s) => s.pid !== 0, 'up'));
  await send(a, '-p');
  await snap(a, 'paused', await waitStatus(a, (s) => s.paused === 1, 'paused'));
  await rewritten(a, '-c', 'continued');
  await send(a, '-d');
  await snap(a, 'down', await waitStatus(a, (s) => s.pid === 0, 'down'));
  await snap(a, 'p while down', await rewritten(a, '-p', 'p while down'));
  await rewritten(a, '-c', 'c while down');
  await send(a, '-u');
  await waitStatus(a, (s) => s.pid !== 0, 'up again');
  await send(a, '-o');
  await snap(a, 'once', await waitStatus(a, (s) => s.want === '0', 'once'));
  await send(a, '-k');
  await snap(a, 'exited in once mode', await waitStatus(a, (s) => s.pid === 0, 'exited'));
  await send(a, '-x');
  expect(await sup.exited).toEqual({ code: 0, signal: null });
  await snap(a, 'after x', readStatus(a)!);

  const b = serviceDir('#!/bin/sh\necho $$ >> pids\ntrap "" TERM\nexec sleep 1000\n', { down: true });
  startSupervisor(impl, b);
  await waitFor(async () => (await run('svok', [b])).code === 0, 'svok');
  await snap(b, 'fresh, down file', readStatus(b)!);
  await send(b, '-u');
  await waitStatus(b, (s) => s.pid !== 0, 'up');
  await send(b, '-d');
  await snap(b, 'TERM ignored after d', await waitStatus(b, (s) => s.want === 'd', 'want down'));
  await send(b, '-k');
  await snap(b, 'killed', await waitStatus(b, (s) => s.pid === 0, 'killed'));
  return snaps;
}

describe('compatibility with Debian daemontools', () => {
  itWithPeer(PEERS)('same status bytes, svstat lines and svok codes in every situation of reference 3.3', async () => {
    const [deb, ours] = await Promise.all([scenario('debian'), scenario('upkeep')]);
    expect(ours).toEqual(deb);
    // What the reference table says, so that the comparison cannot pass with both sides wrong.
    expect(ours.map((s) => `${s.what}: ${s.status} ${s.svstat.trim()} ${s.svok}`)).toEqual([
      'running: T pid 0075 (18) DIR: up (pid P) S seconds 0,0',
      'paused: T pid 0175 (18) DIR: up (pid P) S seconds, paused 0,0',
      'down: T 00000000 0064 (18) DIR: down S seconds, normally up 0,0',
      'p while down: T 00000000 0064 (18) DIR: down S seconds, normally up 0,0',
      'once: T pid 0000 (18) DIR: up (pid P) S seconds 0,0',
      'exited in once mode: T 00000000 0000 (18) DIR: down S seconds, normally up 0,0',
      'after x: T 00000000 0000 (18) DIR: supervise not running 100,100',
      'fresh, down file: T 00000000 0064 (18) DIR: down S seconds 0,0',
      'TERM ignored after d: T pid 0064 (18) DIR: up (pid P) S seconds, normally down, want down 0,0',
      'killed: T 00000000 0064 (18) DIR: down S seconds 0,0',
    ]);
  });

  itWithPeer(PEERS)('svc: same warnings and exit codes', async () => {
    const base = tmpdir();
    const nosup = join(base, 'nosup');
    mkdirSync(nosup);
    const dead = join(base, 'dead');
    mkdirSync(join(dead, 'supervise'), { recursive: true });
    await run('mkfifo', [join(dead, 'supervise/control')]);
    const file = join(base, 'file');
    writeFileSync(file, '');
    const cases = [
      ['-u', '/nonexistent-upkeep', nosup, dead, file, '-'],
      ['-z', nosup],
      ['-ux-', nosup],
      ['-dudptx', '-a', nosup],
      [],
      ['-u'],
    ];
    for (const args of cases) {
      const [d, u] = await Promise.all([run('svc', args, { cwd: base }), upkeep(['svc', ...args], { cwd: base })]);
      expect([u.code, u.stderr.toString(), u.stdout.toString()], args.join(' ')).toEqual([
        d.code,
        d.stderr.toString(),
        d.stdout.toString(),
      ]);
    }
  });

  itWithPeer(PEERS)('svstat and svok: same lines and codes for broken directories', async () => {
    const base = tmpdir();
    const mk = (name: string, files: Record<string, string | 'fifo'> = {}) => {
      const d = join(base, name);
      mkdirSync(join(d, 'supervise'), { recursive: true });
      for (const [f, text] of Object.entries(files)) if (text !== 'fifo') writeFileSync(join(d, f), text);
      return d;
    };
    const nosup = join(base, 'nosup');
    mkdirSync(nosup);
    const noOk = mk('nook');
    const dead = mk('dead');
    await run('mkfifo', [join(dead, 'supervise/ok')]);
    const file = join(base, 'file');
    writeFileSync(file, '');
    const dirs = ['/nonexistent-upkeep', nosup, noOk, dead, file, 'nosup'];
    const [d, u] = await Promise.all([run('svstat', dirs, { cwd: base }), upkeep(['svstat', ...dirs], { cwd: base })]);
    expect([u.code, u.stdout.toString(), u.stderr.toString()]).toEqual([d.code, d.stdout.toString(), d.stderr.toString()]);
    expect(u.stdout.toString().split('\n')).toHaveLength(dirs.length + 1);
    for (const args of [[], ['/nonexistent-upkeep'], [nosup], [noOk], [dead], [file], [dead, 'extra']]) {
      const [ds, us] = await Promise.all([run('svok', args), upkeep(['svok', ...args])]);
      expect([us.code, us.stderr.toString()], args.join(' ')).toEqual([ds.code, ds.stderr.toString()]);
    }
  });

  itWithPeer(PEERS)('svstat: bad and foreign status files read the same', async () => {
    // A live "supervisor" for svstat is just a reader on supervise/ok: hold one with upkeep supervise
    // on a down service, then replace its status file by hand-made records.
    const dir = serviceDir(SLEEPER, { down: true });
    startSupervisor('upkeep', dir);
    await waitFor(async () => (await run('svok', [dir])).code === 0, 'svok');
    const now = BigInt(Math.floor(Date.now() / 1000));
    const rec = (ago: bigint, pid: number, paused: number, want: number, extra = 0) => {
      const b = Buffer.alloc(18 + extra);
      b.writeBigUInt64BE((1n << 62n) + 10n + now - ago, 0);
      b.writeUInt32BE(500, 8);
      b.writeUInt32LE(pid, 12);
      b[16] = paused;
      b[17] = want;
      return b;
    };
    const records = [
      Buffer.alloc(17),
      Buffer.alloc(0),
      rec(5n, 123, 1, 0x64),
      rec(5n, 0, 1, 0x75),
      rec(7n, 0, 0, 0x78),
      rec(-50n, 99, 0, 0x75),
      rec(3n, 42, 0, 0x64, 2), // runit's 20 bytes
    ];
    for (const r of records) {
      writeFileSync(join(dir, 'supervise/status'), r);
      await svstatBoth(dir);
    }
  });
});
