// After a deploy, rollback or hand repoint, the service's logger follows the new target: the same logger
// carries on with its supervise/ moved to the new log/; a different one reads the old pipe to its end, then
// the new one starts in the new target. A writer writes numbered lines (~10k/s) throughout; every line must
// be in the right log exactly once. Status and control through Debian's svstat, svok and svc.
import { existsSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { itWithPeer, run, tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { alive, checkStorm, files, journal, logLines, startScan, statusPid, trackDir, tree, type Event, waitEvent, WRITER } from './svscan-helpers.js';


/** Big `current` files: at ~10k lines/s under load, multilog's default s99999 n10 would rotate lines away. */
const BIG = 's16777215\n';

function pidsOf(version: string): Set<string> {
  const p = join(version, 'pids');
  return new Set(existsSync(p) ? readFileSync(p, 'latin1').split('\n').filter(Boolean) : []);
}

/** Lines whose writer pid is one of `version`'s writers. */
function linesOf(lines: string[], version: string): string[] {
  const pids = pidsOf(version);
  return lines.filter((l) => pids.has(l.split(' ')[0]!));
}

/** A version directory running the writer, with the given log/ files. */
function version(base: string, v: string, log: Record<string, string>): string {
  files(base, {
    [`${v}/writer.mjs`]: WRITER,
    [`${v}/run`]: `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
    [`${v}/min-uptime`]: '50\n',
    ...Object.fromEntries(Object.entries(log).map(([k, t]) => [`${v}/log/${k}`, t])),
  });
  return join(base, v);
}

async function svok(dir: string): Promise<number | null> {
  return (await run('svok', [dir])).code;
}

async function svstat(dir: string): Promise<string> {
  return (await run('svstat', [dir])).stdout.toString();
}

function moves(dir: string): Event[] {
  return journal(dir).filter((e) => e.event === 'logger-move');
}

function versionsBase(): string {
  const base = join(tmpdir('upkeep-deploylog-'), 'versions');
  trackDir(base);
  return base;
}

describe('the logger follows a deploy', () => {
  itWithPeer(['svok', 'svstat', 'svc'])('same log/script at a stable path: not restarted, supervise/ moves at once (deploy and rollback)', async () => {
    const base = versionsBase();
    const logs = join(base, 'logs/app');
    files(base, { 'logs/.keep': '' });
    const v1 = version(base, 'v1', { script: `t\n# the stable log directory\n${BIG}${logs}\n` });
    const v2 = version(base, 'v2', { script: `t\n${BIG}${logs}\n` }); // the same actions (comments aside)
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(logs).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');
    const host = statusPid(join(v1, 'log'));
    expect(host).toBeGreaterThan(0);

    const d = await upkeep(['deploy', '--dir', dir, 'app', v2]);
    expect(d.stderr.toString()).toBe('');
    expect(d.code).toBe(0);
    // served from the new target as soon as deploy returns; the old one released
    expect(await svstat(join(v2, 'log'))).toMatch(new RegExp(`^${v2}/log: up \\(pid ${host}\\) \\d+ seconds\\n$`));
    expect(await svok(join(v2, 'log'))).toBe(0);
    expect(await svok(join(v1, 'log'))).toBe(100);
    expect(await svok(v1)).toBe(100);
    await waitEvent(dir, (e) => e.event === 'logger-move', 'logger-move');
    expect(moves(dir).map((e) => [e.service, e.from, e.to, e.restart, e.reason])).toEqual([['app/log', join(v1, 'log'), join(v2, 'log'), false, 'same logger']]);
    const n = logLines(logs).length;
    await waitFor(() => logLines(logs).length > n + 200, 'v2 logging into the same log');

    // control through the new symlink reaches the logger: t restarts it (inside the shared logger process)
    expect((await run('svc', ['-t', join(dir, 'app/log')])).code).toBe(0);
    await waitFor(() => journal(dir).filter((e) => e.event === 'logger-start' && e.service === 'app/log').length === 2, 'the logger restarted by svc -t');
    const n2 = logLines(logs).length;
    await waitFor(() => logLines(logs).length > n2 + 200, 'logging after svc -t');

    const r = await upkeep(['rollback', '--dir', dir, 'app']);
    expect(r.code).toBe(0);
    expect(await svok(join(v1, 'log'))).toBe(0);
    expect(await svok(join(v2, 'log'))).toBe(100);
    expect(await svstat(join(v1, 'log'))).toMatch(new RegExp(`^${v1}/log: up \\(pid ${host}\\) `));
    const n3 = logLines(logs).length;
    await waitFor(() => logLines(logs).length > n3 + 200, 'v1 logging again');

    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    const lines = logLines(logs);
    expect(checkStorm(linesOf(lines, v1), join(v1, 'progress')).pids).toBe(2);
    expect(checkStorm(linesOf(lines, v2), join(v2, 'progress')).pids).toBe(1);
    // one logger the whole time (plus the one svc -t asked for)
    expect(journal(dir).filter((e) => e.service === 'app/log' && e.event === 'logger-start').length).toBe(2);
    expect(moves(dir).map((e) => [e.to, e.restart])).toEqual([
      [join(v2, 'log'), false],
      [join(v1, 'log'), false],
    ]);
    expect(s.stderr()).toBe('');
  });

  itWithPeer(['svok', 'svstat'])('changed log/script: the old logger finishes the old lines, the new script takes effect in the new log/', async () => {
    const base = versionsBase();
    const v1 = version(base, 'v1', { script: `t\n${BIG}./main\n` });
    const v2 = version(base, 'v2', { script: `${BIG}./main\n` }); // no labels: the new script is in force
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(join(v1, 'log/main')).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');

    const d = await upkeep(['deploy', '--dir', dir, 'app', v2]);
    expect(d.code).toBe(0);
    expect(await svok(join(v2, 'log'))).toBe(0);
    expect(await svok(join(v1, 'log'))).toBe(100);
    expect(await svstat(join(v2, 'log'))).toMatch(new RegExp(`^${v2}/log: up \\(pid \\d+\\) \\d+ seconds\\n$`));
    await waitFor(() => logLines(join(v2, 'log/main')).length > 200, 'v2 logging in its own log');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);

    const old = logLines(join(v1, 'log/main'), false);
    const neu = logLines(join(v2, 'log/main'), false);
    // every v1 line in v1's log (labelled), every v2 line in v2's (not labelled), each exactly once
    expect(old.every((l) => /^@[0-9a-f]{24} /.test(l))).toBe(true);
    expect(neu.some((l) => l.startsWith('@'))).toBe(false);
    expect(linesOf(old.map((l) => l.slice(26)), v2)).toEqual([]);
    expect(linesOf(neu, v1)).toEqual([]);
    expect(checkStorm(old.map((l) => l.slice(26)), join(v1, 'progress')).pids).toBe(1);
    expect(checkStorm(neu, join(v2, 'progress')).pids).toBe(1);
    // the v1 writer's last line and its exit note went to v1's log, after which nothing of v1 follows
    const [w1] = [...pidsOf(v1)];
    expect(old.at(-1)).toMatch(new RegExp(`^@[0-9a-f]{24} upkeep: exit pid=${w1} code=0 signal=- uptime=[0-9.]+ next=restart$`));
    expect(old.at(-2)).toMatch(new RegExp(`^@[0-9a-f]{24} ${w1} END \\d+$`));
    const mv = moves(dir);
    expect(mv.map((e) => [e.from, e.to, e.restart, e.reason])).toEqual([[join(v1, 'log'), join(v2, 'log'), true, 'log/script changed']]);
    // order in the journal: the move, the old logger's exit, the new logger's start
    const ev = journal(dir).filter((e) => e.service === 'app/log').map((e) => e.event);
    expect(ev).toEqual(['logger-start', 'logger-move', 'logger-exit', 'logger-start', 'logger-exit']);
  });

  itWithPeer(['multilog', 'svok', 'svstat'])('log/run (Debian multilog) changed, then rolled back: each version logs into its own log/, no line lost', async () => {
    const base = versionsBase();
    const v1 = version(base, 'v1', { run: '#!/bin/sh\nexec multilog t s16777215 ./main\n' });
    const v2 = version(base, 'v2', { run: '#!/bin/sh\nexec multilog t s16777215 n5 ./main\n' });
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(join(v1, 'log/main')).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');
    const m1 = statusPid(join(v1, 'log'));

    expect((await upkeep(['deploy', '--dir', dir, 'app', v2])).code).toBe(0);
    const m2 = statusPid(join(v2, 'log'));
    expect(m2).toBeGreaterThan(0);
    expect(m2).not.toBe(m1);
    expect(alive(m1)).toBe(false); // the old multilog read to the end of its pipe and exited
    expect(readFileSync(`/proc/${m2}/cmdline`, 'latin1')).toBe('multilog\0t\0s16777215\0n5\0./main\0'); // the new definition
    expect(readlinkSync(`/proc/${m2}/cwd`)).toBe(join(v2, 'log/main')); // in the new log/ (multilog works in its log directory)
    expect(await svok(join(v2, 'log'))).toBe(0);
    expect(await svok(join(v1, 'log'))).toBe(100);
    expect(await svstat(join(v1, 'log'))).toMatch(new RegExp(`^${v1}/log: supervise not running\\n$`));
    await waitFor(() => logLines(join(v2, 'log/main')).length > 200, 'v2 logging');

    expect((await upkeep(['rollback', '--dir', dir, 'app'])).code).toBe(0);
    expect(await svok(join(v1, 'log'))).toBe(0);
    expect(await svok(join(v2, 'log'))).toBe(100);
    const n = logLines(join(v1, 'log/main')).length;
    await waitFor(() => logLines(join(v1, 'log/main')).length > n + 200, 'v1 logging again');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);

    const old = logLines(join(v1, 'log/main'));
    const neu = logLines(join(v2, 'log/main'));
    expect(linesOf(old, v2)).toEqual([]);
    expect(linesOf(neu, v1)).toEqual([]);
    expect(checkStorm(old, join(v1, 'progress')).pids).toBe(2);
    expect(checkStorm(neu, join(v2, 'progress')).pids).toBe(1);
    expect(moves(dir).map((e) => [e.to, e.restart, e.reason])).toEqual([
      [join(v2, 'log'), true, 'log/run changed'],
      [join(v1, 'log'), true, 'log/run changed'],
    ]);
  });

  itWithPeer(['multilog', 'svok', 'svc'])('a log/ shared by the versions (symlinks to one directory): the same multilog carries on, even once the old version is deleted', async () => {
    const base = versionsBase();
    files(base, { 'shared-log/run': '#!/bin/sh\nexec multilog t s16777215 ./main\n' });
    const v1 = version(base, 'v1', {});
    const v2 = version(base, 'v2', {});
    symlinkSync(join(base, 'shared-log'), join(v1, 'log'));
    symlinkSync(join(base, 'shared-log'), join(v2, 'log'));
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    const main = join(base, 'shared-log/main');
    await waitFor(() => logLines(main).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');
    const m = statusPid(join(v1, 'log'));
    expect((await upkeep(['deploy', '--dir', dir, 'app', v2])).code).toBe(0);
    expect(statusPid(join(v2, 'log'))).toBe(m);
    expect(alive(m)).toBe(true);
    await waitEvent(dir, (e) => e.event === 'logger-move', 'logger-move');
    expect(moves(dir).map((e) => [e.restart, e.reason])).toEqual([[false, 'same logger']]);
    rmSync(v1, { recursive: true }); // releases are cleaned up: the logger does not live in v1
    expect((await run('svc', ['-t', join(dir, 'app/log')])).code).toBe(0);
    await waitFor(() => statusPid(join(base, 'shared-log')) !== m && statusPid(join(base, 'shared-log')) > 0, 'multilog restarted by svc -t');
    expect(await svok(join(dir, 'app/log'))).toBe(0);
    const n = logLines(main).length;
    await waitFor(() => logLines(main).length > n + 200, 'v2 logging after the restart');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    expect(checkStorm(linesOf(logLines(main), v2), join(v2, 'progress')).pids).toBe(1);
    expect(journal(dir).filter((e) => e.event === 'warning')).toEqual([]);
  });

  itWithPeer(['svok'])('a rollback while the deploy is still under way: both done in order, the service and its logger end in the old target', async () => {
    const base = versionsBase();
    const v1 = version(base, 'v1', { script: `t\n${BIG}./main\n` });
    const v2 = version(base, 'v2', { script: `${BIG}./main\n` });
    files(base, { 'v1/timeout-kill': '100\n' });
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(join(v1, 'log/main')).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');
    const d = upkeep(['deploy', '--dir', dir, 'app', v2]);
    await waitFor(() => readlinkSync(join(dir, 'app')) === v2, 'the link repointed');
    const r = await upkeep(['rollback', '--dir', dir, 'app']);
    expect((await d).code).toBe(0);
    expect(r.code).toBe(0);
    // when rollback returns, v1 runs again with its logger in v1/log; v2 is released
    expect(statusPid(v1)).toBeGreaterThan(0);
    expect(await svok(join(v1, 'log'))).toBe(0);
    expect(await svok(v2)).toBe(100);
    expect(await svok(join(v2, 'log'))).toBe(100);
    const n = logLines(join(v1, 'log/main')).length;
    await waitFor(() => logLines(join(v1, 'log/main')).length > n + 200, 'v1 logging again');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    expect(journal(dir).filter((e) => e.event === 'deploy' || e.event === 'rollback').map((e) => [e.event, e.to])).toEqual([
      ['deploy', v2],
      ['rollback', v1],
    ]);
    const old = logLines(join(v1, 'log/main'));
    expect(checkStorm(old, join(v1, 'progress')).pids).toBe(2);
    expect(linesOf(old, v2)).toEqual([]);
    expect(linesOf(logLines(join(v2, 'log/main')), v1)).toEqual([]);
    if (pidsOf(v2).size) expect(checkStorm(logLines(join(v2, 'log/main')), join(v2, 'progress')).pids).toBe(1);
  });

  const downCases: [string, Record<string, string>, Record<string, string>][] = [
    ['log/run', { run: '#!/bin/sh\nexec multilog t s16777215 ./main\n' }, { run: '#!/bin/sh\nexec multilog t s16777215 n5 ./main\n' }],
    ['log/script', { script: `t\n${BIG}./main\n` }, { script: `t\n${BIG}n5\n./main\n` }],
  ];
  for (const [kind, log1, log2] of downCases) itWithPeer(['multilog', 'svc'])(`a ${kind} logger that is down at a deploy is started once to read the old pipe to its end`, async () => {
    const base = versionsBase();
    const v1 = version(base, 'v1', log1);
    files(base, { 'v1/timeout-kill': '100\n' }); // the writer blocks on the full pipe: KILL soon after TERM
    const v2 = version(base, 'v2', log2);
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(join(v1, 'log/main')).length > 200, 'v1 logging');
    await waitFor(() => existsSync(join(dir, '.upkeep/control.sock')), 'the control socket');
    expect((await run('svc', ['-d', join(v1, 'log')])).code).toBe(0);
    await waitFor(() => statusPid(join(v1, 'log')) === 0, 'the logger down');
    const progress = (): number => Number(readFileSync(join(v1, 'progress', [...pidsOf(v1)][0]!), 'latin1'));
    const p0 = progress();
    await waitFor(() => progress() > p0 + 1000, 'lines waiting in the pipe');
    expect((await upkeep(['deploy', '--dir', dir, 'app', v2])).code).toBe(0);
    await waitFor(() => logLines(join(v2, 'log/main')).length > 200, 'v2 logging');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    const old = logLines(join(v1, 'log/main'));
    expect(old.length).toBeGreaterThan(p0 + 1000);
    expect(checkStorm(old, join(v1, 'progress')).pids).toBe(1);
    expect(checkStorm(logLines(join(v2, 'log/main')), join(v2, 'progress')).pids).toBe(1);
  });

  itWithPeer(['multilog', 'svok', 'svstat'])('a symlink repointed by hand (SIGHUP): log/script -> log/run, then a version without log/', async () => {
    const base = versionsBase();
    const v1 = version(base, 'v1', { script: `t\n${BIG}./main\n` });
    const v2 = version(base, 'v2', { run: '#!/bin/sh\nexec multilog t s16777215 ./main\n' });
    const v3 = version(base, 'v3', {});
    const dir = tree();
    symlinkSync(v1, join(dir, 'app'));
    const s = startScan(dir, ['--scan-interval', '600']);
    await waitFor(() => logLines(join(v1, 'log/main')).length > 200, 'v1 logging');

    // by hand, atomically (mv -T of a new link), then SIGHUP: the scan notices at once
    symlinkSync(v2, join(dir, '.app.tmp'));
    renameSync(join(dir, '.app.tmp'), join(dir, 'app'));
    s.proc.kill('SIGHUP');
    await waitFor(async () => (await svok(join(v2, 'log'))) === 0 && statusPid(v2) > 0, 'v2 and its multilog served');
    // the old logger's supervise/ is released once it has drained the old pipe and exited: wait for it
    await waitFor(async () => (await svok(join(v1, 'log'))) === 100, 'v1/log released');
    await waitFor(() => logLines(join(v2, 'log/main')).length > 200, 'v2 logging through multilog');
    const m2 = statusPid(join(v2, 'log'));

    symlinkSync(v3, join(dir, '.app.tmp'));
    renameSync(join(dir, '.app.tmp'), join(dir, 'app'));
    s.proc.kill('SIGHUP');
    await waitFor(() => statusPid(v3) > 0 && !alive(m2), 'v3 up, v2 multilog gone');
    await waitFor(async () => (await svok(join(v2, 'log'))) === 100, 'v2/log released');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);

    const l1 = logLines(join(v1, 'log/main'));
    const l2 = logLines(join(v2, 'log/main'));
    expect(checkStorm(l1, join(v1, 'progress')).pids).toBe(1);
    expect(checkStorm(l2, join(v2, 'progress')).pids).toBe(1);
    expect(linesOf(l2, v1)).toEqual([]);
    expect(journal(dir).filter((e) => e.event === 'deploy').map((e) => e.to)).toEqual([v2, v3]);
    expect(moves(dir).map((e) => [e.to, e.restart, e.reason])).toEqual([
      [join(v2, 'log'), true, 'log/script replaced by log/run'],
      [join(v3, 'log'), true, 'log/ is gone'],
    ]);
  });
});

