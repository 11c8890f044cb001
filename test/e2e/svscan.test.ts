// upkeep svscan end to end: real processes, Debian's svc/svstat/svok/multilog as peers, the journal read
// back. Every wait is for an observable event (a status file, a journal line, a log line).
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itWithPeer, run, tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { alive, files, journal, startScan, statusPid, trackDir, tree, waitEvent } from './svscan-helpers.js';

const SLEEP = '#!/bin/sh\necho $$ >> pids\nexec sleep 1000\n';

describe('upkeep svscan', () => {
  itWithPeer(['svc', 'svstat', 'svok'])('supervises every entry; Debian svc, svstat, svok work; a second svscan refuses', async () => {
    const dir = tree();
    files(dir, {
      'a/run': SLEEP,
      'b/run': SLEEP,
      'b/down': '',
      '.hidden/run': SLEEP,
      'plain-file': 'not a service\n',
    });
    const s = startScan(dir);
    await waitFor(() => statusPid(join(dir, 'a')), 'a up');
    await waitFor(() => existsSync(join(dir, 'b/supervise/status')), 'b supervised');
    expect(existsSync(join(dir, '.hidden/supervise'))).toBe(false);
    const st = await run('svstat', [join(dir, 'a'), join(dir, 'b')]);
    expect(st.stdout.toString()).toMatch(new RegExp(`^${dir}/a: up \\(pid ${statusPid(join(dir, 'a'))}\\) \\d+ seconds\\n${dir}/b: down \\d+ seconds\\n$`));
    expect((await run('svok', [join(dir, 'a')])).code).toBe(0);

    await run('svc', ['-u', join(dir, 'b')]);
    const bpid = await waitFor(() => statusPid(join(dir, 'b')), 'b up after svc -u');
    await waitEvent(dir, (e) => e.event === 'control' && e.service === 'b' && e.command === 'u' && e.via === 'control-fifo', 'control u in the journal');
    await waitEvent(dir, (e) => e.event === 'start' && e.service === 'b' && e.pid === bpid && e.target === join(dir, 'b'), 'start of b');

    const apid = statusPid(join(dir, 'a'));
    await run('svc', ['-k', join(dir, 'a')]);
    await waitFor(() => statusPid(join(dir, 'a')) !== apid && statusPid(join(dir, 'a')), 'a restarted after svc -k');
    const exit = await waitEvent(dir, (e) => e.event === 'exit' && e.pid === apid, 'exit of a');
    expect(exit).toMatchObject({ service: 'a', code: null, signal: 'SIGKILL', operator: true, wanted: 'up' });

    const second = await upkeep(['svscan', dir]);
    expect(second.code).toBe(111);
    expect(second.stderr.toString()).toBe(`svscan: fatal: unable to lock ${dir}/.upkeep/lock: temporary failure\n`);

    s.proc.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(alive(bpid)).toBe(false);
    expect((await run('svok', [join(dir, 'a')])).code).toBe(100);
    const names = journal(dir).map((e) => e.event);
    expect(names[0]).toBe('supervisor-start');
    expect(names.at(-1)).toBe('supervisor-stop');
    for (const e of journal(dir)) expect(e).toMatchObject({ v: 1, host: expect.any(String), time: expect.stringMatching(/^\d{4}-.*\.\d{6}Z$/), tai64n: expect.stringMatching(/^@4000[0-9a-f]{20}$/) });
  });

  it('runs run with a clean environment plus env/, finish with s6 arguments, stderr into the log on request', async () => {
    const dir = tree();
    files(dir, {
      's/run': '#!/bin/sh\necho $$ >> pids\nenv | sort > env.out\necho to-stderr >&2\nexit 3\n',
      's/finish': '#!/bin/sh\necho "$@" >> finish.out\n',
      's/env/GREETING': 'hello  \nignored second line\n',
      's/env/PATH': '/bin:/usr/bin\n',
      's/stderr-to-log': '',
      's/log/run': '#!/bin/sh\nexec cat > captured\n',
    });
    const s = startScan(dir);
    await waitFor(() => existsSync(join(dir, 's/finish.out')) && readFileSync(join(dir, 's/finish.out'), 'latin1').includes('\n'), 'finish ran');
    expect(readFileSync(join(dir, 's/finish.out'), 'latin1').split('\n')[0]).toBe('3 0 s');
    const env = readFileSync(join(dir, 's/env.out'), 'latin1');
    expect(env).toContain('GREETING=hello\n');
    expect(env).toContain('PATH=/bin:/usr/bin\n');
    expect(env).not.toMatch(/^HOME=/m);
    await waitFor(() => existsSync(join(dir, 's/log/captured')) && readFileSync(join(dir, 's/log/captured'), 'latin1').includes('to-stderr'), 'stderr in the log');
    // A crash loop backs off (1 s, then 2 s), recorded in the journal.
    const b = await waitEvent(dir, (e) => e.event === 'backoff' && e.service === 's' && e.deaths === 2, 'second backoff');
    expect(b.delay).toBe(2);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('a missing or non-executable run: a warning, retried with backoff, the other services unharmed', async () => {
    const dir = tree();
    files(dir, { 'ok/run': SLEEP, 'bad/placeholder': '' });
    const s = startScan(dir);
    await waitFor(() => s.stderr().includes('bad/run'), 'a warning about bad/run');
    expect(s.stderr()).toContain('svscan: warning: unable to start bad/run: file does not exist\n');
    await waitEvent(dir, (e) => e.event === 'spawn-failed' && e.service === 'bad' && e.error === 'file does not exist', 'spawn-failed in the journal');
    writeFileSync(join(dir, 'bad/run'), SLEEP); // not executable yet
    await waitFor(() => s.stderr().includes('bad/run: access denied'), 'access denied on the next try');
    const okPid = statusPid(join(dir, 'ok'));
    expect(okPid).toBeGreaterThan(0);
    chmodSync(join(dir, 'bad/run'), 0o755);
    await run('svc', ['-u', join(dir, 'bad')]); // u starts a backed-off service at once
    await waitFor(() => statusPid(join(dir, 'bad')), 'bad up once fixed');
    expect(statusPid(join(dir, 'ok'))).toBe(okPid);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('x drops a service once down and the next scan takes it up again; a removed entry is stopped after two scans', async () => {
    const dir = tree();
    files(dir, { 'a/run': SLEEP, 'b/run': SLEEP });
    const s = startScan(dir, ['--scan-interval', '0.3']);
    const a1 = await waitFor(() => statusPid(join(dir, 'a')), 'a up');
    const b1 = await waitFor(() => statusPid(join(dir, 'b')), 'b up');
    await upkeep(['svc', '-dx', join(dir, 'a')]);
    await waitEvent(dir, (e) => e.event === 'remove' && e.service === 'a', 'a dropped after x');
    expect(alive(a1)).toBe(false);
    const a2 = await waitFor(() => statusPid(join(dir, 'a')), 'a up again after a scan');
    expect(a2).not.toBe(a1);

    renameSync(join(dir, 'b'), join(dir, '.b-gone'));
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'b' && /missing/.test(String(e.msg)), 'b missing once');
    expect(alive(b1)).toBe(true); // one scan is not enough
    await waitEvent(dir, (e) => e.event === 'remove' && e.service === 'b', 'b removed');
    expect(alive(b1)).toBe(false);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('follows symlinks; repointing one by hand restarts the service in the new target, its log/run logger in the new log/', async () => {
    const base = join(tmpdir('upkeep-svscan-v-'), 'versions');
    trackDir(base);
    const dir = tree();
    const logDir = join(base, 'logs');
    for (const v of ['v1', 'v2']) {
      files(base, {
        [`${v}/run`]: `#!/bin/sh\necho $$ >> pids\necho ${v} started $$\nexec sleep 1000\n`,
        [`${v}/log/run`]: `#!/bin/sh\necho $$ >> ${base}/logger-pids\nexec cat >> ${logDir}\n`,
      });
    }
    symlinkSync(join(base, 'v1'), join(dir, 'app'));
    const s = startScan(dir, ['--scan-interval', '0.3']);
    await waitFor(() => existsSync(logDir) && readFileSync(logDir, 'latin1').includes('v1 started'), 'v1 logged');
    const loggerPid = statusPid(join(base, 'v1/log'));
    // A non-atomic repoint (unlink, then symlink): the service is not stopped for a missing scan.
    unlinkSync(join(dir, 'app'));
    symlinkSync(join(base, 'v2'), join(dir, 'app'));
    await waitFor(() => readFileSync(logDir, 'latin1').includes('v2 started'), 'v2 logged through the same pipe');
    const dep = await waitEvent(dir, (e) => e.event === 'deploy' && e.service === 'app', 'deploy event');
    expect(dep).toMatchObject({ from: join(base, 'v1'), to: join(base, 'v2') });
    // the same log/run bytes, but another log/ (its working directory): it follows the service there
    // (test/e2e/svscan-deploy-logger.test.ts has the other cases)
    await waitFor(() => statusPid(join(base, 'v2/log')), 'the logger in v2/log');
    expect(alive(loggerPid)).toBe(false);
    expect(readFileSync(join(base, 'logger-pids'), 'latin1').trim().split('\n').length).toBe(2);
    expect(journal(dir).filter((e) => e.event === 'remove')).toEqual([]);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    rmSync(base, { recursive: true, force: true });
  });

  it('down-signal replaces TERM for d; notification-fd reports readiness (journal ready, svstat --json readyAt)', async () => {
    const dir = tree();
    files(dir, {
      's/run': '#!/bin/sh\necho $$ >> pids\ntrap \'echo HUP > got; exit 0\' HUP\ntrap \'echo TERM > got; exit 0\' TERM\nsleep 0.2\necho >&5\nwhile :; do sleep 0.05; done\n',
      's/down-signal': 'HUP\n',
      's/notification-fd': '5\n',
    });
    const s = startScan(dir);
    const pid = await waitFor(() => statusPid(join(dir, 's')), 's up');
    const ready = await waitEvent(dir, (e) => e.event === 'ready' && e.service === 's', 'ready');
    expect(ready.pid).toBe(pid);
    expect(ready.after as number).toBeGreaterThanOrEqual(0.2);
    const j = JSON.parse((await upkeep(['svstat', '--json', join(dir, 's')])).stdout.toString()) as { readyAt: number };
    expect(j.readyAt).toBeGreaterThan(Date.now() / 1000 - 60);
    await upkeep(['svc', '-d', join(dir, 's')]);
    await waitFor(() => existsSync(join(dir, 's/got')) && readFileSync(join(dir, 's/got'), 'latin1') === 'HUP\n', 'the down-signal');
    // down-group: the whole process group gets it, so a child of run does not outlive the stop
    writeFileSync(join(dir, 's/down-group'), '');
    writeFileSync(join(dir, 's/down-signal'), 'TERM\n');
    files(dir, { 's/run': '#!/bin/sh\necho $$ >> pids\nsleep 1000 &\necho $! > child\nwait\n' });
    await upkeep(['svc', '-x', join(dir, 's')]); // settings are read when supervision starts: drop it, the next scan takes it up
    await waitEvent(dir, (e) => e.event === 'remove' && e.service === 's', 's dropped');
    // the whole pid, not the empty file the shell's `>` creates first (Number('') is 0, and kill(0, 0) always succeeds)
    const child = await waitFor(() => {
      const t = existsSync(join(dir, 's/child')) ? readFileSync(join(dir, 's/child'), 'latin1') : '';
      return /^\d+\n$/.test(t) ? Number(t) : 0;
    }, 'the child started');
    await upkeep(['svc', '-d', join(dir, 's')]);
    await waitFor(() => !alive(child), 'the child stopped with its group');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('SIGHUP scans at once (the periodic scan is an hour away)', async () => {
    const dir = tree();
    files(dir, { 'a/run': SLEEP });
    const s = startScan(dir, ['--scan-interval', '3600']);
    await waitFor(() => statusPid(join(dir, 'a')), 'a up');
    files(dir, { 'b/run': SLEEP });
    s.proc.kill('SIGHUP');
    await waitFor(() => statusPid(join(dir, 'b')), 'b up after SIGHUP');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});
