// The native follower of `upkeep tail -f -o raw` (src/native/follow.c, io/native-follow.ts): what it
// writes and what the JavaScript pass writes make exactly the stored bytes, under real loggers rotating
// small files while lines come one by one, in bursts and in pieces; a reader that goes away or stops
// reading; and UPKEEP_NATIVE=0 (the JavaScript follower alone) gives the same bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { ROOT, UPKEEP, itWithPeer, tmpdir, waitFor } from '../helpers/index.js';

const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});

function spawnKept(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { out: () => Buffer; err: () => string } {
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, UPKEEP_DEBUG: '1', ...env } });
  kids.push(c);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  c.stdout!.on('data', (b: Buffer) => out.push(b));
  c.stderr!.on('data', (b: Buffer) => err.push(b));
  return Object.assign(c, { out: () => Buffer.concat(out), err: () => Buffer.concat(err).toString() });
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((res) => c.once('exit', (code) => res(code)));

/** The bytes of a log directory's files in reading order (read while the logger may be rotating: the
 *  live files through the listing's descriptors). */
function stored(d: string): Buffer {
  const files = listLogdir(d, 'current', undefined, true);
  try {
    return Buffer.concat(files.map((f) => readFileSync(f.fd ?? join(d, f.name))));
  } finally {
    for (const f of files) if (f.fd !== undefined) closeSync(f.fd);
  }
}

/** Waits until tail has taken its starting position (UPKEEP_DEBUG says so just after): -n 0 then
 *  prints every line appended from now on. */
const ready = (t: { err: () => string }, o = 'raw'): Promise<boolean> =>
  o === 'raw' ? waitFor(() => t.err().includes('-o raw merge in'), 'tail starting') : waitFor(() => t.err().includes('general path'), 'tail starting');

/** `upkeep tail -f -n 0 -o FORMAT` on a new log directory with an empty current, once it has started. */
async function followEmpty(o = 'raw', env: NodeJS.ProcessEnv = {}) {
  const d = join(tmpdir(), 'main');
  mkdirSync(d);
  writeFileSync(join(d, 'current'), '');
  const t = spawnKept(UPKEEP, ['tail', '-f', '-n', '0', '-o', o, d], env);
  await ready(t, o);
  return { d, t };
}

/** Bytes the native follower wrote, from UPKEEP_DEBUG's last line. */
function nativeBytes(err: string): number {
  const m = /the native follower wrote (\d+) bytes/.exec(err);
  return m ? Number(m[1]) : -1;
}

// Lines one at a time with short pauses, bursts of up to 300 lines, and lines written in two pieces;
// a fixed seed (a small LCG), so every run feeds the same bytes.
const FEEDER = `
let seed = Number(process.argv[1]); const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const fs = require('fs'); const n = Number(process.argv[2]);
const line = (i) => Buffer.from('a ' + String(i).padStart(8, '0') + ' ' + 'x'.repeat(Math.floor(rnd() * 120)) + '\\n');
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let i = 0; i < n; ) {
  const m = rnd();
  if (m < 0.5) { fs.writeSync(1, line(i++)); pause([0, 0.2, 1, 3][Math.floor(rnd() * 4)]); }
  else if (m < 0.7) { const k = Math.min(n - i, 2 + Math.floor(rnd() * 300)); const b = []; for (let j = 0; j < k; j++) b.push(line(i++)); fs.writeSync(1, Buffer.concat(b)); }
  else { const l = line(i++); const c = 1 + Math.floor(rnd() * (l.length - 1)); fs.writeSync(1, l.subarray(0, c)); pause([0, 0.5, 2][Math.floor(rnd() * 3)]); fs.writeSync(1, l.subarray(c)); }
}`;

const LOGGERS: Record<string, { argv: (d: string) => string[]; tai: string; config?: string }> = {
  multilog: { argv: (d) => ['t', 's4096', 'n10000', d], tai: 'daemontools' },
  svlogd: { argv: (d) => ['-t', d], tai: 'daemontools', config: 's4096\nn10000\n' },
  's6-log': { argv: (d) => ['t', 's4096', 'n10000', d], tai: 's6' },
};

/**
 * A real logger fed by FEEDER while `upkeep tail -f -o raw` follows its directory from its first two
 * lines; returns what tail printed (once it has as many bytes as the directory) and its stderr.
 */
async function follow(peer: string, seed: number, env: NodeJS.ProcessEnv) {
  const l = LOGGERS[peer]!;
  const d = join(tmpdir(), 'main');
  mkdirSync(d);
  if (l.config) writeFileSync(join(d, 'config'), l.config);
  const lg = spawnKept(peer, l.argv(d));
  lg.stdin!.write('a first\na second\n');
  await waitFor(() => existsSync(join(d, 'current')) && stored(d).length > 0 && stored(d).toString().includes('a second\n'), `${peer} writing`);
  const t = spawnKept(UPKEEP, ['tail', '-f', '-n', '2', '--tai', l.tai, '-o', 'raw', d], env);
  await waitFor(() => t.out().includes('a second\n'), 'tail printing the first lines');
  const feeder = spawn(process.execPath, ['-e', FEEDER, String(seed), '3000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(feeder);
  feeder.stdout!.pipe(lg.stdin!);
  await exited(feeder);
  await waitFor(() => stored(d).includes(`a ${String(2999).padStart(8, '0')} `), `${peer} writing the last line`);
  const want = stored(d);
  await waitFor(() => t.out().length >= want.length, `tail printing ${want.length} bytes`, 20_000);
  t.kill('SIGTERM');
  await exited(t);
  return { want, got: t.out(), err: t.err() };
}

describe('upkeep tail -f: the native follower', () => {
  it('is built (npm run build) and loads', () => {
    expect(existsSync(join(ROOT, 'dist/native/follow.node'))).toBe(true);
  });

  for (const peer of Object.keys(LOGGERS)) {
    itWithPeer([peer])(`${peer}: native and JavaScript followers both print exactly the stored bytes, rotations, bursts and split lines`, async () => {
      for (const seed of [1, 2]) {
        const n = await follow(peer, seed, {});
        expect(n.got.equals(n.want)).toBe(true);
        expect(n.err).not.toMatch(/warning/);
        // (the trickle went out through the thread: most lines came one at a time)
        expect(nativeBytes(n.err)).toBeGreaterThan(0);
        const j = await follow(peer, seed, { UPKEEP_NATIVE: '0' });
        expect(j.got.equals(j.want)).toBe(true);
        expect(nativeBytes(j.err)).toBe(-1);
      }
    }, 60_000);
  }

  it('writes a line appended to current, one at a time, with nothing else to wake node', async () => {
    const { d, t } = await followEmpty();
    let want = '';
    for (let i = 0; i < 20; i++) {
      const l = `line ${i}\n`;
      want += l;
      appendFileSync(join(d, 'current'), l);
      await waitFor(() => t.out().toString() === want, `line ${i}`);
    }
    // a line in two writes comes out once, whole
    appendFileSync(join(d, 'current'), 'half');
    appendFileSync(join(d, 'current'), ' and half\nlast\n');
    want += 'half and half\nlast\n';
    await waitFor(() => t.out().toString() === want, 'the split line');
    t.kill('SIGTERM');
    expect(await exited(t)).toBe(0);
    expect(t.out().toString()).toBe(want);
    // at least the lines after the first pass went out through the thread
    expect(nativeBytes(t.err())).toBeGreaterThanOrEqual(Buffer.byteLength(want) - 'line 0\n'.length);
  });

  it('exits when its reader goes away, found by the thread', async () => {
    const { d, t } = await followEmpty();
    appendFileSync(join(d, 'current'), 'one\n');
    await waitFor(() => t.out().toString() === 'one\n', 'the first line');
    t.stdout!.destroy();
    // each append finds the pipe closed (the first may still fit before the close is seen)
    for (let i = 0; t.exitCode === null && i < 100; i++) {
      appendFileSync(join(d, 'current'), `more ${i}\n`);
      await Promise.race([exited(t), new Promise((r) => setTimeout(r, 50))]);
    }
    expect(await exited(t)).toBe(0);
  });

  it('leaves a reader that stopped reading to the JavaScript pass: nothing lost', async () => {
    const { d, t } = await followEmpty();
    appendFileSync(join(d, 'current'), 'start\n');
    await waitFor(() => t.out().toString() === 'start\n', 'the first line');
    t.stdout!.pause();
    // more than a pipe holds, one line at a time (~1 MB)
    let want = 'start\n';
    for (let i = 0; i < 8000; i++) {
      const l = `${String(i).padStart(6, '0')} ${'y'.repeat(120)}\n`;
      want += l;
      appendFileSync(join(d, 'current'), l);
    }
    expect(statSync(join(d, 'current')).size).toBe(want.length);
    t.stdout!.resume();
    await waitFor(() => t.out().length >= want.length, 'every line', 20_000);
    expect(t.out().toString()).toBe(want);
    t.kill('SIGTERM');
    expect(await exited(t)).toBe(0);
  }, 30_000);

  for (const o of ['raw', 'short']) {
    it(`-o ${o}: TERM ends tail -f at once while its reader has stopped reading (a full pipe)`, async () => {
      const { d, t } = await followEmpty(o);
      t.stdout!.pause();
      for (let i = 0; i < 12000; i++) appendFileSync(join(d, 'current'), `${'z'.repeat(200)}\n`);
      // (2.4 MB: more than the pipe and this side's buffer hold; once tail has read them it waits, in its
      // event loop or in a write, for a reader that does not read)
      await waitFor(() => /^[SD]$/.test(readFileSync(`/proc/${t.pid}/stat`, 'latin1').split(' ')[2]!), 'tail waiting on a full pipe');
      t.kill('SIGTERM');
      expect(await Promise.race([exited(t), new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000))])).toBe(0);
    }, 30_000);
  }

  for (const native of ['1', '0']) {
    it(`a truncated current is followed again from its start, with a warning (UPKEEP_NATIVE=${native})`, async () => {
      const { d, t } = await followEmpty('raw', { UPKEEP_NATIVE: native });
      // a burst first (more than the thread writes: the pass reads it), then lines one by one (the
      // thread's), so that the reader is behind what was printed when the file shrinks
      let want = `${'b'.repeat(99)}\n`.repeat(60);
      appendFileSync(join(d, 'current'), want);
      await waitFor(() => t.out().toString() === want, 'the burst');
      for (let i = 0; i < 5; i++) {
        appendFileSync(join(d, 'current'), `old ${i} ${'o'.repeat(40)}\n`);
        want += `old ${i} ${'o'.repeat(40)}\n`;
        await waitFor(() => t.out().toString() === want, `old ${i}`);
      }
      writeFileSync(join(d, 'current'), ''); // (: > current)
      for (let i = 0; i < 5; i++) {
        appendFileSync(join(d, 'current'), `new ${i}\n`);
        want += `new ${i}\n`;
        await waitFor(() => t.out().toString() === want, `new ${i}`);
      }
      expect(t.err()).toMatch(/current was truncated \(to \d+ bytes\): following it from its start/);
      t.kill('SIGTERM');
      expect(await exited(t)).toBe(0);
      expect(t.out().toString()).toBe(want);
    });
  }
});
