// upkeep multilog as a real process: signals (TERM mid-line leaves the rest in the pipe, ALRM), lock
// exclusion with Debian's multilog in both directions, fatal messages and exit codes compared with the real
// one, every argument an action, disk full on a small tmpfs (warn, pause, resume, nothing lost).
// The side-by-side matrix against Debian's multilog is test/e2e/multilog-compat*.test.ts.
// not tested here: a tty on stdin (checked by hand through a pty: lines logged, ^D ends, exit 0); SIGTERM
// mid-line when stdin is a tty; EIO from a real device (injected through the fs seam in test/io instead);
// the 5 s pause length itself (test/io uses a short pause; the disk-full test here waits one real pause).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UPKEEP, itWithPeer, run, tmpdir, upkeep, waitFor } from '../helpers/index.js';

const MULTILOG = '/usr/bin/multilog';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Live {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(cmd: string, args: string[], cwd: string): Live {
  const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
  children.push(child);
  const err: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdin!.on('error', () => {});
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stderr: () => Buffer.concat(err).toString('latin1'), exit };
}

const read = (p: string): string => (existsSync(p) ? readFileSync(p, 'latin1') : '');
const olds = (d: string): string[] => readdirSync(d).filter((n) => n.startsWith('@')).sort();

/**
 * Waits until `pid` has taken delivery of `sig` and gone back to sleep: the signal is no longer pending and
 * the main thread sleeps again, so its handler has run (it runs before the event loop sleeps again).
 */
async function signalHandled(pid: number, sig: NodeJS.Signals): Promise<void> {
  const bit = 1n << BigInt((sig === 'SIGTERM' ? 15 : 14) - 1);
  process.kill(pid, sig);
  await waitFor(() => {
    const st = read(`/proc/${pid}/status`);
    const pend = (k: string): bigint => BigInt('0x' + (st.match(new RegExp(`^${k}:\\s*([0-9a-f]+)`, 'm'))?.[1] ?? '0'));
    const state = st.match(/^State:\s*(\S)/m)?.[1];
    return st !== '' && (pend('SigPnd') & bit) === 0n && (pend('ShdPnd') & bit) === 0n && state === 'S';
  }, `${sig} handled by ${pid}`);
}

describe('upkeep multilog (CLI)', () => {
  it('logs stdin with t into a log directory and exits 0; `upkeep help multilog` prints the help', async () => {
    const dir = tmpdir();
    const r = await upkeep(['multilog', 't', './main'], { cwd: dir, input: 'hello\nworld' });
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toBe('');
    expect(read(join(dir, 'main/current'))).toMatch(/^@4000[0-9a-f]{20} hello\n@4000[0-9a-f]{20} world\n$/);
    expect(statSync(join(dir, 'main/current')).mode & 0o777).toBe(0o744);
    const h = await upkeep(['help', 'multilog']);
    expect(h.stdout.toString()).toContain('usage: upkeep multilog script...');
  });

  itWithPeer(['multilog'])('every argument is an action: --help, -h and -V are patterns, as in multilog', async () => {
    for (const impl of [[MULTILOG], [UPKEEP, 'multilog']]) {
      const dir = tmpdir();
      // --help deselects lines equal to "-help"; -h lines equal to "h"; -V lines equal to "V"
      const r = await run(impl[0]!, [...impl.slice(1), '--help', '-h', '-V', 'e', './d'], { cwd: dir, input: '-help\nx\nh\n-V\n' });
      expect(r.code).toBe(0);
      expect(r.stderr.toString()).toBe('x\n-V\n');
      expect(read(join(dir, 'd/current'))).toBe('x\n-V\n');
    }
  });

  itWithPeer(['multilog'])('fatal start-up errors: same messages and exit codes as Debian multilog', async () => {
    const cases: string[][] = [
      ['=/nonexistent/x'],
      ['./nonexistent/x'],
      ['./dup', './dup/'],
      ['./dup', '=st', '/nonexistent/y'],
      ['./file'],
      ['=dirhere'],
    ];
    for (const args of cases) {
      const out: { code: number | null; err: string }[] = [];
      for (const impl of [[MULTILOG], [UPKEEP, 'multilog']]) {
        const dir = tmpdir();
        writeFileSync(join(dir, 'file'), '');
        mkdirSync(join(dir, 'dirhere'));
        const r = await run(impl[0]!, [...impl.slice(1), ...args], { cwd: dir, input: 'x\n' });
        out.push({ code: r.code, err: r.stderr.toString() });
      }
      expect(out[1], args.join(' ')).toEqual(out[0]);
      expect(out[1]!.code).toBe(111);
      expect(out[1]!.err).toMatch(/^multilog: fatal: unable to /);
    }
  });

  it('SIGTERM mid-line: finishes that line, exits 0 and leaves the rest of the input in the pipe', async () => {
    const dir = tmpdir();
    // sh gives upkeep its stdin explicitly, then cat drains whatever upkeep left in the pipe
    // (an asynchronous command's stdin is /dev/null unless redirected: hand it the pipe through fd 3)
    const sh = start('/bin/sh', ['-c', `exec 3<&0; "${UPKEEP}" multilog ./d <&3 3<&- & echo $! > pid; wait $!; echo $? > rc; cat > rest`], dir);
    sh.child.stdin!.write('line1\npartial');
    await waitFor(() => read(join(dir, 'd/current')) === 'line1\n', 'line1 in current');
    const pid = Number(await waitFor(() => read(join(dir, 'pid')).trim(), 'the pid'));
    await signalHandled(pid, 'SIGTERM');
    expect(existsSync(join(dir, 'rc'))).toBe(false); // still waiting for the end of its line
    sh.child.stdin!.end(' rest\nnext line\nand more\n');
    expect(await sh.exit).toBe(0);
    expect(read(join(dir, 'rc'))).toBe('0\n');
    expect(read(join(dir, 'd/current'))).toBe('line1\npartial rest\n');
    expect(statSync(join(dir, 'd/current')).mode & 0o777).toBe(0o744);
    expect(read(join(dir, 'rest'))).toBe('next line\nand more\n');
  });

  it('SIGTERM between lines exits at once like end of input', async () => {
    const dir = tmpdir();
    const ml = start(UPKEEP, ['multilog', './d'], dir);
    ml.child.stdin!.write('whole\n');
    await waitFor(() => read(join(dir, 'd/current')) === 'whole\n', 'the line');
    ml.child.kill('SIGTERM');
    expect(await ml.exit).toBe(0);
    expect(statSync(join(dir, 'd/current')).mode & 0o777).toBe(0o744);
  });

  it('SIGALRM rotates a non-empty current now, and leaves an empty one alone', async () => {
    const dir = tmpdir();
    const ml = start(UPKEEP, ['multilog', './a', '-*', './b'], dir);
    await waitFor(() => existsSync(join(dir, 'b/current')), 'start-up');
    ml.child.stdin!.write('first\n');
    await waitFor(() => read(join(dir, 'a/current')) === 'first\n', 'first line');
    await signalHandled(ml.child.pid!, 'SIGALRM');
    await waitFor(() => olds(join(dir, 'a')).length === 1, 'a rotated file');
    expect(read(join(dir, 'a', olds(join(dir, 'a'))[0]!))).toBe('first\n');
    expect(olds(join(dir, 'b'))).toEqual([]);
    ml.child.stdin!.end('second\n');
    expect(await ml.exit).toBe(0);
    expect(read(join(dir, 'a/current'))).toBe('second\n');
  });

  itWithPeer(['multilog'])('lock exclusion with Debian multilog, in both directions', async () => {
    for (const [holder, other] of [
      [[MULTILOG], [UPKEEP, 'multilog']],
      [[UPKEEP, 'multilog'], [MULTILOG]],
    ]) {
      const dir = tmpdir();
      const h = start(holder[0]!, [...holder.slice(1), './d'], dir);
      h.child.stdin!.write('held\n');
      await waitFor(() => read(join(dir, 'd/current')) === 'held\n', 'the holder running');
      const r = await run(other[0]!, [...other.slice(1), './d'], { cwd: dir, input: 'x\n' });
      expect(r.code).toBe(111);
      expect(r.stderr.toString()).toBe('multilog: fatal: unable to lock directory ./d: temporary failure\n');
      h.child.stdin!.end();
      expect(await h.exit).toBe(0);
      // released at exit: the other one can take it now
      const r2 = await run(other[0]!, [...other.slice(1), './d'], { cwd: dir, input: 'y\n' });
      expect(r2.code).toBe(0);
      expect(read(join(dir, 'd/current'))).toBe('held\ny\n');
    }
  });
});

describe('disk full', () => {
  it('warns "out of disk space", pauses, resumes when space returns, loses nothing', { timeout: 30_000 }, async () => {
    const dir = tmpdir();
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    if (m.status !== 0) {
      process.stderr.write(`\n*** SKIPPING disk-full test: mount refused (${m.stderr.toString().trim()}) ***\n\n`);
      return;
    }
    try {
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(200 * 1024));
      const ml = start(UPKEEP, ['multilog', 's16777215', './mnt/d'], dir);
      const lines = Array.from({ length: 1500 }, (_, i) => `line ${i} ${'x'.repeat(60)}\n`).join('');
      ml.child.stdin!.end(lines);
      await waitFor(() => ml.stderr().includes('multilog: warning: unable to write to ./mnt/d/current, pausing: out of disk space\n'), 'the ENOSPC warning');
      spawnSync('rm', [join(mnt, 'filler')]);
      expect(await ml.exit).toBe(0);
      expect(read(join(mnt, 'd/current'))).toBe(lines);
      expect(ml.stderr().split('\n').filter(Boolean).every((l) => l === 'multilog: warning: unable to write to ./mnt/d/current, pausing: out of disk space')).toBe(true);
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  });
});
