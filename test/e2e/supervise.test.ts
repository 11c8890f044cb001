// upkeep supervise against real processes: start-up, files and modes, control letters (sent with
// Debian's svc), run's arguments and cwd, process group, restart policy, errors, signals.
import { chmodSync, closeSync, constants, existsSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, upkeep, waitFor, itWithPeer } from '../helpers/index.js';
import {
  alive,
  procStat,
  readStatus,
  serviceDir,
  SLEEPER,
  startedPids,
  startSupervisor,
  stampMicros,
  waitStatus,
} from './supervise-helpers.js';

const svc = (args: string[]) => upkeep(['svc', ...args]);

describe('upkeep supervise: start-up', () => {
  it('usage and chdir errors as daemontools', async () => {
    for (const args of [[], ['a', 'b']]) {
      const r = await upkeep(['supervise', ...args]);
      expect(r.code).toBe(100);
      expect(r.stderr.toString()).toBe('supervise: usage: supervise dir\n');
    }
    const r = await upkeep(['supervise', '/nonexistent-upkeep-dir']);
    expect(r.code).toBe(111);
    expect(r.stderr.toString()).toBe('supervise: fatal: unable to chdir to /nonexistent-upkeep-dir: file does not exist\n');
  });

  it('creates supervise/ as daemontools does and starts ./run with no arguments in the service dir', async () => {
    const dir = serviceDir('#!/bin/sh\necho $$ >> pids\necho "$#:$PWD" > info\nexec sleep 1000\n');
    startSupervisor('upkeep', dir);
    const st = await waitStatus(dir, (s) => s.pid !== 0, 'service up');
    expect(st.bytes.length).toBe(18);
    expect(st.want).toBe('u');
    // TAI64N in daemontools' convention: 2^62 + 10 + UNIX seconds, nanoseconds = microseconds * 1000 + 500.
    const unix = Number(st.bytes.readBigUInt64BE(0) - (1n << 62n) - 10n);
    expect(Math.abs(unix - Date.now() / 1000)).toBeLessThan(30);
    expect(st.bytes.readUInt32BE(8) % 1000).toBe(500);
    await waitFor(() => existsSync(join(dir, 'info')), 'info file');
    expect(startedPids(dir)).toEqual([st.pid]);
    expect(readFileSync(join(dir, 'info'), 'latin1')).toBe(`0:${dir}\n`);
    const mode = (p: string) => statSync(join(dir, 'supervise', p)).mode;
    expect((mode('') & 0o777).toString(8)).toBe('700');
    expect((mode('lock') & 0o777).toString(8)).toBe('600');
    expect(statSync(join(dir, 'supervise/control')).isFIFO()).toBe(true);
    expect(statSync(join(dir, 'supervise/ok')).isFIFO()).toBe(true);
    expect((mode('control') & 0o777).toString(8)).toBe('600');
    expect((mode('ok') & 0o777).toString(8)).toBe('600');
    expect(statSync(join(dir, 'supervise/status')).isFile()).toBe(true);
    expect(existsSync(join(dir, 'supervise/status.new'))).toBe(false);
    expect((await upkeep(['svok', dir])).code).toBe(0);
  });

  it('opens supervise/ok only after the first status is written (svok implies a status file)', async () => {
    const dir = serviceDir(SLEEPER, { down: true });
    startSupervisor('upkeep', dir);
    const ok = join(dir, 'supervise/ok');
    await waitFor(() => {
      try {
        closeSync(openSync(ok, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        return false;
      }
      return true;
    }, 'a reader on supervise/ok');
    expect(statSync(join(dir, 'supervise/status')).size).toBe(18);
    expect(readStatus(dir)!.want).toBe('d');
  });

  it('runs the service in its own session and process group (documented choice, as s6)', async () => {
    const dir = serviceDir(SLEEPER);
    const sup = startSupervisor('upkeep', dir);
    const { pid } = await waitStatus(dir, (s) => s.pid !== 0, 'service up');
    const ps = procStat(pid)!;
    expect(ps.ppid).toBe(sup.proc.pid);
    expect(ps.pgrp).toBe(pid);
    expect(ps.session).toBe(pid);
  });

  it('accepts supervise/ as a dangling symlink and creates its target (as Debian patches daemontools)', async () => {
    const dir = serviceDir(SLEEPER);
    const target = join(dir, '..', 'elsewhere');
    symlinkSync(target, join(dir, 'supervise'));
    startSupervisor('upkeep', dir);
    await waitStatus(dir, (s) => s.pid !== 0, 'up');
    expect(statSync(join(target, 'status')).size).toBe(18);
    expect(statSync(target).mode & 0o777).toBe(0o700);
  });

  it('a down file keeps the service down at start-up; svc -u starts it', async () => {
    const dir = serviceDir(SLEEPER, { down: true });
    startSupervisor('upkeep', dir);
    await waitFor(async () => (await upkeep(['svok', dir])).code === 0, 'svok');
    const st = readStatus(dir)!;
    expect([st.pid, st.want]).toEqual([0, 'd']);
    expect(startedPids(dir)).toEqual([]);
    await svc(['-u', dir]);
    const up = await waitStatus(dir, (s) => s.pid !== 0, 'started by svc -u');
    expect(up.want).toBe('u');
  });

  itWithPeer(['supervise'])('excludes Debian supervise and is excluded by it (flock on supervise/lock)', async () => {
    const a = serviceDir(SLEEPER);
    startSupervisor('upkeep', a);
    await waitStatus(a, (s) => s.pid !== 0, 'upkeep up');
    const deb = await run('supervise', [a]);
    expect([deb.code, deb.stderr.toString()]).toEqual([111, `supervise: fatal: unable to acquire ${a}/supervise/lock: temporary failure\n`]);

    const b = serviceDir(SLEEPER);
    startSupervisor('debian', b);
    await waitStatus(b, (s) => s.pid !== 0, 'debian up');
    const ours = await upkeep(['supervise', b]);
    expect([ours.code, ours.stderr.toString()]).toEqual([111, `supervise: fatal: unable to acquire ${b}/supervise/lock: temporary failure\n`]);
    for (const d of [a, b]) {
      await waitFor(() => startedPids(d).length > 0, 'pid recorded');
      expect(startedPids(d)).toHaveLength(1); // the refused supervisor started nothing
    }
  });
});

describe('upkeep supervise: control letters (sent by Debian svc)', () => {
  const debSvc = (args: string[]) => run('svc', args);

  itWithPeer(['svc'])('p/c stop and continue the process; d stops it; u restarts it; t restarts it', async () => {
    const dir = serviceDir(SLEEPER);
    startSupervisor('upkeep', dir);
    const first = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    await debSvc(['-p', dir]);
    const paused = await waitStatus(dir, (s) => s.paused === 1, 'paused byte');
    expect(paused.bytes.subarray(0, 12)).toEqual(first.bytes.subarray(0, 12)); // stamp moves only with the pid
    await waitFor(() => procStat(first.pid)?.state === 'T', 'process stopped');
    await debSvc(['-c', dir]);
    await waitStatus(dir, (s) => s.paused === 0, 'paused byte cleared');
    await waitFor(() => procStat(first.pid)?.state !== 'T', 'process continued');
    await debSvc(['-p', dir]);
    await waitFor(() => procStat(first.pid)?.state === 'T', 'stopped again');
    await debSvc(['-d', dir]); // TERM then CONT: a stopped process dies too
    const down = await waitStatus(dir, (s) => s.pid === 0, 'down');
    expect([down.want, down.paused]).toEqual(['d', 0]);
    expect(down.bytes.subarray(0, 12)).not.toEqual(first.bytes.subarray(0, 12));
    await waitFor(() => !alive(first.pid), 'old process gone');
    await debSvc(['-u', dir]);
    const second = await waitStatus(dir, (s) => s.pid !== 0, 'up again');
    await debSvc(['-t', dir]);
    const third = await waitStatus(dir, (s) => s.pid !== 0 && s.pid !== second.pid, 'restarted after t');
    await waitFor(() => startedPids(dir).length === 3, 'third pid recorded');
    expect(startedPids(dir)).toEqual([first.pid, second.pid, third.pid]);
  });

  itWithPeer(['svc'])('h a i t k deliver their signals to the service', async () => {
    const script = [
      '#!/bin/sh',
      'echo $$ >> pids',
      'for s in HUP ALRM INT; do trap "echo $s >> got" $s; done',
      'trap "echo TERM >> got; exit 0" TERM',
      'echo $$ > ready',
      'while :; do sleep 0.05; done',
      '',
    ].join('\n');
    const dir = serviceDir(script);
    startSupervisor('upkeep', dir);
    const first = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    const ready = () => (existsSync(join(dir, 'ready')) ? readFileSync(join(dir, 'ready'), 'latin1') : '');
    await waitFor(() => ready() === `${first.pid}\n`, 'traps installed');
    const got = () => (existsSync(join(dir, 'got')) ? readFileSync(join(dir, 'got'), 'latin1') : '');
    for (const [letter, name] of [['h', 'HUP'], ['a', 'ALRM'], ['i', 'INT']] as const) {
      await debSvc([`-${letter}`, dir]);
      await waitFor(() => got().includes(name), `${name} received`);
    }
    await debSvc(['-t', dir]);
    await waitFor(() => got().includes('TERM'), 'TERM received');
    const second = await waitStatus(dir, (s) => s.pid !== 0 && s.pid !== first.pid, 'restarted after t');
    await waitFor(() => ready() === `${second.pid}\n`, 'second instance ready');
    await debSvc(['-k', dir]);
    await waitFor(() => !alive(second.pid), 'killed');
    await waitStatus(dir, (s) => s.pid !== 0 && s.pid !== second.pid, 'restarted after k');
    expect(got()).toBe('HUP\nALRM\nINT\nTERM\n');
  });

  itWithPeer(['svc'])('o runs once; x exits only once the service is down, without stopping it', async () => {
    const dir = serviceDir(SLEEPER, { down: true });
    const sup = startSupervisor('upkeep', dir);
    await waitFor(async () => (await upkeep(['svok', dir])).code === 0, 'svok');
    await debSvc(['-o', dir]);
    const once = await waitStatus(dir, (s) => s.pid !== 0, 'started once');
    expect(once.want).toBe('0');
    await debSvc(['-k', dir]);
    await waitStatus(dir, (s) => s.pid === 0, 'exited, not restarted');
    await debSvc(['-u', dir]);
    const up = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    const ino = readStatus(dir)!.ino;
    await debSvc(['-x', dir]);
    await waitStatus(dir, (s) => s.ino !== ino, 'status rewritten after x');
    expect(alive(up.pid)).toBe(true);
    expect(sup.proc.exitCode).toBeNull();
    await debSvc(['-d', dir]);
    expect(await sup.exited).toEqual({ code: 0, signal: null });
    expect(readStatus(dir)!.pid).toBe(0);
    expect((await upkeep(['svok', dir])).code).toBe(100);
  });

  itWithPeer(['svc'])('ignores unknown bytes and processes the others in order', async () => {
    const dir = serviceDir(SLEEPER);
    startSupervisor('upkeep', dir);
    await waitStatus(dir, (s) => s.pid !== 0, 'up');
    writeFileSync(join(dir, 'supervise/control'), 'zq\nd?');
    await waitStatus(dir, (s) => s.pid === 0 && s.want === 'd', 'down');
  });

  it('answers a command sent right after a start at once (daemontools sleeps 1 s first)', async () => {
    const dir = serviceDir(SLEEPER);
    startSupervisor('upkeep', dir);
    const up = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    writeFileSync(join(dir, 'supervise/control'), 'd');
    const down = await waitStatus(dir, (s) => s.pid === 0, 'down');
    // Both stamps are supervise's own: start of the service, its exit after the d.
    expect(stampMicros(down) - stampMicros(up)).toBeLessThan(700_000);
  });
});

describe('upkeep supervise: restart policy', () => {
  it('a crash loop backs off (base, then twice the base); u starts it at once; svstat shows want up', async () => {
    // A 5 s base (the backoff-base setting) keeps the intervals far apart from scheduling noise on a loaded
    // machine: the second gap would be 10 s, and u must cut it short.
    const dir = serviceDir('#!/bin/sh\necho $$ >> pids\ndate +%s%N >> starts\nexit 1\n');
    writeFileSync(join(dir, 'backoff-base'), '5000\n');
    startSupervisor('upkeep', dir);
    const starts = () => (existsSync(join(dir, 'starts')) ? readFileSync(join(dir, 'starts'), 'latin1').trim().split('\n').map((l) => Number(BigInt(l) / 1000n)) : []);
    await waitFor(() => starts().length === 2, 'second start');
    const [s1, s2] = starts() as [number, number];
    expect(s2 - s1).toBeGreaterThanOrEqual(5_000_000); // timers never fire early
    expect(s2 - s1).toBeLessThan(9_500_000); // and not the doubled delay yet
    // The run script notes its start before supervise rewrites the status with its pid: wait for the down
    // status of this second run (stamped after it started), not the stale one of the first.
    const down = await waitStatus(dir, (s) => s.pid === 0 && stampMicros(s) >= s2, 'down again'); // now waiting 10 s
    writeFileSync(join(dir, 'supervise/control'), 'u');
    await waitFor(() => starts().length === 3, 'third start');
    expect(starts()[2]! - stampMicros(down)).toBeLessThan(8_000_000); // the backoff would have made it >= 10 s
    await waitStatus(dir, (s) => s.pid === 0 && stampMicros(s) > stampMicros(down), 'down again'); // now waiting 20 s
    const line = (await upkeep(['svstat', dir])).stdout.toString();
    expect(line).toMatch(new RegExp(`^${dir}: down \\d+ seconds, normally up, want up\\n$`));
    expect(starts()).toHaveLength(3);
  });

  it('restarts at once a service that ran long enough', async () => {
    const script = '#!/bin/sh\necho $$ >> pids\nsleep 1000 &\necho $! >> pids\ntrap \'date +%s%N > exited; kill $!; exit 0\' TERM\nwait\n';
    const dir = serviceDir(script);
    startSupervisor('upkeep', dir);
    const first = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    await waitFor(() => Date.now() * 1000 - stampMicros(first) >= 1_100_000, 'an uptime over 1 s');
    writeFileSync(join(dir, 'supervise/control'), 't');
    const second = await waitStatus(dir, (s) => s.pid !== 0 && s.pid !== first.pid, 'restarted');
    const exited = Number(BigInt(readFileSync(join(dir, 'exited'), 'latin1').trim()) / 1000n);
    expect(stampMicros(second) - exited).toBeLessThan(700_000); // a backoff would be 1 s
  });

  it('warns when run is missing or not executable and keeps retrying; the supervisor is unharmed', async () => {
    const dir = serviceDir(null);
    const sup = startSupervisor('upkeep', dir);
    await waitFor(() => sup.stderr().includes('\n'), 'a warning');
    expect(sup.stderr().split('\n')[0]).toBe(`supervise: warning: unable to start ${dir}/run: file does not exist`);
    writeFileSync(join(dir, 'run'), SLEEPER);
    await svc(['-u', dir]);
    await waitFor(() => sup.stderr().includes(`${dir}/run: access denied\n`), 'the not-executable warning');
    chmodSync(join(dir, 'run'), 0o755);
    // No command this time: the backoff timer (2 s after two failures) retries by itself.
    const up = await waitStatus(dir, (s) => s.pid !== 0, 'up after the automatic retry', 15_000);
    await waitFor(() => startedPids(dir).length > 0, 'run started');
    expect(startedPids(dir)).toEqual([up.pid]);
    // How many retries failed before the chmod depends on timing; each said one of the two things.
    const lines = sup.stderr().split('\n').filter(Boolean);
    expect(lines[0]).toBe(`supervise: warning: unable to start ${dir}/run: file does not exist`);
    for (const l of lines.slice(1)) {
      expect([`supervise: warning: unable to start ${dir}/run: file does not exist`, `supervise: warning: unable to start ${dir}/run: access denied`]).toContain(l);
    }
  });
});

describe('upkeep supervise: robustness', () => {
  it('survives the loss of its stderr (EPIPE on a warning)', async () => {
    const dir = serviceDir(null);
    const sup = startSupervisor('upkeep', dir);
    await waitFor(() => sup.stderr().includes('\n'), 'the first warning');
    sup.proc.stderr!.destroy(); // nobody reads supervise's stderr any more
    await svc(['-u', dir]); // another failed start: its warning meets EPIPE
    writeFileSync(join(dir, 'run'), SLEEPER, { mode: 0o755 });
    await svc(['-u', dir]);
    await waitStatus(dir, (s) => s.pid !== 0, 'started by a supervisor that is still alive');
    expect(sup.proc.exitCode).toBeNull();
  });
});

describe('upkeep supervise: stopping', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s to supervise stops the service (TERM, CONT) and exits 0 (documented; daemontools orphans it)', async (signal) => {
    const dir = serviceDir(SLEEPER);
    const sup = startSupervisor('upkeep', dir);
    const { pid } = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    sup.proc.kill(signal);
    expect(await sup.exited).toEqual({ code: 0, signal: null });
    expect(alive(pid)).toBe(false);
    const st = readStatus(dir)!;
    expect([st.pid, st.want]).toEqual([0, 'd']);
    expect((await upkeep(['svok', dir])).code).toBe(100);
  });

  it('timeout-kill: a service that ignores TERM is SIGKILLed with its process group', async () => {
    const script = '#!/bin/sh\necho $$ >> pids\ntrap "" TERM\nsleep 1000 &\necho $! >> pids\nwait\nwait\n';
    const dir = serviceDir(script, { files: { 'timeout-kill': '150\n' } });
    startSupervisor('upkeep', dir);
    const { pid } = await waitStatus(dir, (s) => s.pid !== 0, 'up');
    await waitFor(() => startedPids(dir).length === 2, 'child started');
    const child = startedPids(dir)[1]!;
    expect(procStat(child)!.pgrp).toBe(pid);
    await svc(['-d', dir]);
    const st = await waitStatus(dir, (s) => s.want === 'd', 'want down');
    expect(st.pid).toBe(pid); // still up: TERM is ignored
    await waitStatus(dir, (s) => s.pid === 0, 'killed after timeout-kill');
    await waitFor(() => !alive(child), 'the group is gone too');
  });
});
