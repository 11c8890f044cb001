// upkeep deploy / rollback through the running svscan (control socket), svstat --json, service names
// resolved in --dir/$SVDIR, and a stop that waits for a logger that cannot finish.
import { existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itWithPeer, run, tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { alive, checkStorm, files, journal, logLines, startScan, statusPid, trackDir, tree, waitEvent, WRITER } from './svscan-helpers.js';


describe('upkeep deploy and rollback', () => {
  itWithPeer(['svok'])('repoint and restart through svscan: supervise/ served at once, one log history, no line lost', async () => {
    const base = join(tmpdir('upkeep-deploy-'), 'versions');
    trackDir(base);
    const logs = join(base, 'logs/app'); // the stable log directory both versions name
    for (const v of ['v1', 'v2']) {
      files(base, {
        [`${v}/writer.mjs`]: WRITER,
        [`${v}/run`]: `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
        [`${v}/min-uptime`]: '50\n',
        [`${v}/log/script`]: `t\ns16777215\n${logs}\n`, // big files: nothing rotated away under load
      });
    }
    files(base, { 'logs/README': 'multilog makes the last component of a log directory, not its parents\n' });
    const dir = tree();
    symlinkSync(join(base, 'v1'), join(dir, 'app'));
    const s = startScan(dir);
    await waitFor(() => logLines(logs).length > 200, 'v1 logging');
    const sock = join(dir, '.upkeep/control.sock');
    await waitFor(() => existsSync(sock), 'the control socket');
    expect(statSync(sock).mode & 0o777).toBe(0o600);

    const d = await upkeep(['deploy', '--dir', dir, 'app', join(base, 'v2')]);
    expect(d.stderr.toString()).toBe('');
    expect(d.code).toBe(0);
    expect(d.stdout.toString()).toBe(`app: ${join(base, 'v1')} -> ${join(base, 'v2')}\n`);
    expect(statusPid(join(base, 'v2'))).toBeGreaterThan(0); // served as soon as deploy returned
    expect((await run('svok', [join(base, 'v2')])).code).toBe(0);
    expect((await run('svok', [join(base, 'v1')])).code).toBe(100);
    const n2 = logLines(logs).length;
    await waitFor(() => logLines(logs).length > n2 + 200, 'v2 logging into the same log');

    const r = await upkeep(['rollback', join(dir, 'app')]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`app: ${join(base, 'v2')} -> ${join(base, 'v1')}\n`);
    expect(statusPid(join(base, 'v1'))).toBeGreaterThan(0);
    const n3 = logLines(logs).length;
    await waitFor(() => logLines(logs).length > n3 + 200, 'v1 logging again');

    const bad = await upkeep(['deploy', '--dir', dir, 'app', join(base, 'nope')]);
    expect(bad.code).toBe(111);
    expect(bad.stderr.toString()).toBe(`upkeep deploy: fatal: unable to deploy ${join(base, 'nope')}: file does not exist\n`);

    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    const lines = logLines(logs);
    // three writers (v1, v2, v1 again; each in its own progress dir), every line exactly once
    const w1 = checkStorm(lines.filter((l) => readFileSync(join(base, 'v1/pids'), 'latin1').includes(`${l.split(' ')[0]}\n`)), join(base, 'v1/progress'));
    const w2 = checkStorm(lines.filter((l) => readFileSync(join(base, 'v2/pids'), 'latin1').includes(`${l.split(' ')[0]}\n`)), join(base, 'v2/progress'));
    expect([w1.pids, w2.pids]).toEqual([2, 1]);
    const ev = journal(dir).filter((e) => ['deploy', 'rollback'].includes(e.event));
    expect(ev.map((e) => [e.event, e.from, e.to])).toEqual([
      ['deploy', join(base, 'v1'), join(base, 'v2')],
      ['rollback', join(base, 'v2'), join(base, 'v1')],
    ]);
    expect(journal(dir).filter((e) => e.event === 'control' && e.via === 'socket').map((e) => e.command)).toEqual(['deploy', 'rollback', 'deploy']); // the failed one too: it arrived
    expect(journal(dir).filter((e) => e.event === 'remove')).toEqual([]);
  });

  it('without a running svscan, deploy only repoints (with a warning)', async () => {
    const base = tmpdir('upkeep-deploy-');
    files(base, { 'v1/run': '#!/bin/sh\nexit 0\n', 'v2/run': '#!/bin/sh\nexit 0\n' });
    const dir = tree();
    symlinkSync(join(base, 'v1'), join(dir, 'app'));
    const d = await upkeep(['deploy', 'app', join(base, 'v2')], { env: { ...process.env, SVDIR: dir } });
    expect(d.code).toBe(0);
    expect(d.stderr.toString()).toBe(`upkeep deploy: warning: no svscan running on ${dir}: app repointed only\n`);
    expect(readFileSync(join(dir, 'app/run'), 'latin1')).toBe('#!/bin/sh\nexit 0\n');
    const r = await upkeep(['rollback', '--dir', dir, 'app']);
    expect(r.stdout.toString()).toBe(`app: ${join(base, 'v2')} -> ${join(base, 'v1')}\n`);
  });
});

describe('svstat --json, names, stop', () => {
  it('svstat --json shows restarts, last exit and backoff; names resolve in --dir and $SVDIR', async () => {
    const dir = tree();
    files(dir, {
      'crash/run': '#!/bin/sh\necho $$ >> pids\nexit 7\n',
      'up/run': '#!/bin/sh\necho $$ >> pids\nexec sleep 1000\n',
    });
    const s = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'backoff' && e.service === 'crash' && e.deaths === 2, 'two quick deaths');
    const j = await upkeep(['svstat', '--json', '--dir', dir, 'crash', 'up']);
    const [c, u] = j.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(c).toMatchObject({ service: 'crash', dir: join(dir, 'crash'), state: 'down', want: 'up', normallyUp: true, restarts: 1 });
    expect(c!.lastExit).toMatchObject({ code: 7, signal: null, uptime: expect.any(Number) });
    expect(c!.backoff).toMatchObject({ delay: 2, deaths: 2 });
    expect(u).toMatchObject({ state: 'up', pid: statusPid(join(dir, 'up')), restarts: 0, lastExit: null, backoff: null, readyAt: null });
    // the default output stays daemontools' format, names resolved through $SVDIR
    const plain = await upkeep(['svstat', 'up'], { env: { ...process.env, SVDIR: dir } });
    expect(plain.stdout.toString()).toMatch(new RegExp(`^${dir}/up: up \\(pid \\d+\\) \\d+ seconds\\n$`));
    expect((await upkeep(['svok', '--dir', dir, 'up'])).code).toBe(0);
    const pid = statusPid(join(dir, 'up'));
    expect((await upkeep(['svc', '--dir', dir, '-d', 'up'])).code).toBe(0);
    await waitFor(() => statusPid(join(dir, 'up')) === 0, 'up stopped by name');
    expect(alive(pid)).toBe(false);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('a logger that does not finish keeps the stop waiting, says so, until a second SIGTERM', async () => {
    const dir = tree();
    files(dir, {
      'a/run': '#!/bin/sh\necho $$ >> pids\nexec sleep 1000\n',
      'a/log/run': '#!/bin/sh\necho $$ >> ../pids\nexec sleep 1000\n', // never reads: never sees the end
    });
    const s = startScan(dir);
    const lpid = await waitFor(() => statusPid(join(dir, 'a/log')), 'logger up');
    await waitFor(() => statusPid(join(dir, 'a')), 'service up');
    s.proc.kill('SIGTERM');
    await waitFor(() => s.stderr().includes('svscan: warning: waiting for a/log to drain its pipe (send SIGTERM again to stop at once)\n'), 'the waiting warning');
    expect(alive(lpid)).toBe(true);
    expect(s.proc.exitCode).toBe(null);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    await waitFor(() => !alive(lpid), 'logger killed');
  });
});
