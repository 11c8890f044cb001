// svscan reads every supervise/control FIFO through an inotify watch (src/io/svdir.ts) instead of a
// net.Socket per FIFO. These tests prove the control path still reacts at once to Debian's svc (open
// O_WRONLY|O_NDELAY, write, close), to a plain shell redirection, and to a writer that was blocked in open()
// before svscan opened the FIFO; and that the watches follow the services: exactly one per control FIFO
// of a supervised service or logger, released when a service leaves the tree or leaves by `svc -x`.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkfifoSync } from '../../src/io/fifo.js';
import { run, which, waitFor } from '../helpers/index.js';
import { files, journal, startScan, statusPid, track, tree, waitEvent } from './svscan-helpers.js';

const SLEEPER = '#!/bin/sh\nexec sleep 1000\n';
const SVC = which('svc') ? 'svc' : undefined;

/** The inodes svscan's process watches through inotify (from /proc/PID/fdinfo of its inotify fds). */
function watchedInodes(pid: number): number[] {
  const inodes: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:inotify') continue;
    for (const line of readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1').split('\n')) {
      const m = /^inotify wd:\S+ ino:([0-9a-f]+) /.exec(line);
      if (m) inodes.push(parseInt(m[1]!, 16));
    }
  }
  return inodes.sort((a, b) => a - b);
}

function controlInodes(dirs: string[]): number[] {
  return dirs.map((d) => statSync(join(d, 'supervise/control')).ino).sort((a, b) => a - b);
}

/** The status file's "want up" / "paused" view: pid, and the byte daemontools keeps for `want`. */
function want(svdir: string): string {
  const b = readFileSync(join(svdir, 'supervise/status'));
  return String.fromCharCode(b[17]!);
}

describe('svscan: supervise/control through inotify', () => {
  it('reacts at once to Debian svc, to `echo > control`, and to a writer blocked before svscan opened the FIFO', async () => {
    if (!SVC) throw new Error("Debian's svc is required (package daemontools)");
    const dir = tree();
    files(dir, {
      'a/run': SLEEPER,
      'a/log/script': './main\n',
      'b/run': SLEEPER,
      'b/down': '',
    });
    // b: a writer opens b/supervise/control before svscan exists; the open blocks until svscan's read end
    // appears, then `u` is written: svscan must start b although b has a `down` file.
    mkdirSync(join(dir, 'b/supervise'), 0o700);
    mkfifoSync(join(dir, 'b/supervise/control'));
    const early = spawn('/bin/sh', ['-c', 'echo u > b/supervise/control'], { cwd: dir, stdio: 'ignore' });
    track(early.pid!);
    const earlyDone = new Promise<number | null>((r) => early.on('exit', (c) => r(c)));

    const scan = startScan(dir, ['--scan-interval', '3600']);
    const a = join(dir, 'a');
    await waitFor(() => statusPid(a) && statusPid(join(a, 'log')), 'a and its logger up');
    expect(await earlyDone).toBe(0);
    await waitFor(() => statusPid(join(dir, 'b')), 'b started by the `u` written before svscan opened control');
    await waitEvent(dir, (e) => e.event === 'control' && e.service === 'b' && e.command === 'u', 'the journal records b\'s u');

    // Debian's svc: -t restarts a at once (a new pid), -d stops it, -u starts it again.
    const pid1 = statusPid(a);
    expect((await run(SVC, ['-t', a])).code).toBe(0);
    const pid2 = await waitFor(() => {
      const p = statusPid(a);
      return p !== pid1 && p !== 0 ? p : 0;
    }, 'a restarted by svc -t');
    expect((await run(SVC, ['-d', a])).code).toBe(0);
    await waitFor(() => statusPid(a) === 0 && want(a) === 'd', 'a down after svc -d');
    // a plain shell write (open blocking, write, close)
    expect((await run('/bin/sh', ['-c', `echo u > ${join(a, 'supervise/control')}`])).code).toBe(0);
    const pid3 = await waitFor(() => statusPid(a), 'a up after `echo u > control`');
    expect(pid3).not.toBe(pid2);
    // the logger's own control FIFO: svc -t restarts a's logger (inside the shared logger process, whose
    // pid the status shows), not the service
    const starts = (): number => journal(dir).filter((e) => e.event === 'logger-start' && e.service === 'a/log').length;
    const before = starts();
    expect((await run(SVC, ['-t', join(a, 'log')])).code).toBe(0);
    await waitEvent(dir, (e) => e.event === 'control' && e.service === 'a/log' && e.command === 't', "the logger's t");
    await waitFor(() => starts() > before, 'the logger restarted');
    expect(statusPid(a)).toBe(pid3);
    // several letters in one write, each acted on in order: d then u leaves it up with a new pid
    expect((await run(SVC, ['-du', a])).code).toBe(0);
    await waitFor(() => statusPid(a) !== 0 && statusPid(a) !== pid3, 'a restarted by svc -du');
    expect(scan.proc.exitCode).toBe(null);
  });

  it('holds exactly one watch per control FIFO and releases it when a service leaves (removal, svc -x)', async () => {
    const dir = tree();
    const names = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const map: Record<string, string> = {};
    for (const n of names) {
      map[`${n}/run`] = SLEEPER;
      map[`${n}/log/script`] = './main\n';
    }
    files(dir, map);
    const scan = startScan(dir, ['--scan-interval', '0.2']);
    const pid = scan.proc.pid!;
    const sv = (list: string[]): string[] => list.flatMap((n) => [join(dir, n), join(dir, n, 'log')]);
    await waitFor(() => names.every((n) => statusPid(join(dir, n)) && statusPid(join(dir, n, 'log'))), 'every service and logger up');
    // 24 control FIFOs, 24 watches, on exactly those inodes
    await waitFor(() => watchedInodes(pid).length === 24, '24 watches');
    expect(watchedInodes(pid)).toEqual(controlInodes(sv(names)));

    // 4 services leave the tree (renamed to dot names: ignored): after two scans they are stopped and
    // their 8 watches (service + logger) released
    const gone = names.slice(0, 4);
    for (const n of gone) renameSync(join(dir, n), join(dir, `.${n}`));
    for (const n of gone) await waitEvent(dir, (e) => e.event === 'remove' && e.service === n, `${n} removed`);
    const left = names.slice(4);
    await waitFor(() => watchedInodes(pid).length === 16, '16 watches after the removals');
    expect(watchedInodes(pid)).toEqual(controlInodes(sv(left)));

    // svc -x on a service that is down: it leaves supervision (until the next scan takes it up again);
    // its watch is released with its supervise/ directory, then a new one is set up when it comes back
    const x = join(dir, left[0]!);
    const oldPid = statusPid(x);
    await run('/bin/sh', ['-c', `printf dx > ${join(x, 'supervise/control')}`]);
    await waitEvent(dir, (e) => e.event === 'remove' && e.service === left[0], `${left[0]} left by svc -x`);
    await waitFor(() => statusPid(x) !== 0 && statusPid(x) !== oldPid, `${left[0]} taken up again by the next scan`);
    await waitFor(() => watchedInodes(pid).length === 16, '16 watches again');
    expect(watchedInodes(pid)).toEqual(controlInodes(sv(left)));
  });
});
