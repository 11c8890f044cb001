// svscan's loggers: kill storms for both logger kinds (every line exactly once), the shared logger process
// for log/script (status pid, letters on one logger only, `e` prefix, a crash of loghost), exit notes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itWithPeer, run, waitFor } from '../helpers/index.js';
import { alive, checkStorm, files, journal, logLines, startScan, statusPid, tree, waitEvent, WRITER } from './svscan-helpers.js';


async function storm(kind: 'run' | 'script'): Promise<void> {
  const dir = tree();
  const svc = join(dir, 'w');
  files(dir, {
    'w/writer.mjs': WRITER,
    'w/run': `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
    'w/min-uptime': '50\n', // each incarnation lives >= 150 ms: restarted at once
    ...(kind === 'run' ? { 'w/log/run': '#!/bin/sh\nexec multilog t s16777215 ./main\n' } : { 'w/log/script': 't\ns16777215\n./main\n' }),
  });
  const s = startScan(dir);
  const logdir = join(svc, 'log/main');
  await waitFor(() => logLines(logdir).length > 100, 'the first lines logged');
  // The storm: SIGKILL the writer again and again (each incarnation has run long enough to restart at
  // once), restart the logger twice meanwhile.
  const deadline = Date.now() + 3000;
  let kills = 0;
  let loggerRestarts = 0;
  while (Date.now() < deadline) {
    const pid = statusPid(svc);
    if (pid) {
      // wait until this incarnation has written something, then kill it
      await waitFor(() => existsSync(join(svc, `progress/${pid}`)), 'the writer started');
      process.kill(pid, 'SIGKILL');
      kills++;
      await waitFor(() => statusPid(svc) !== pid && statusPid(svc) !== 0, 'restarted', 5000);
    }
    if (kills % 4 === 2 && loggerRestarts < 2) {
      const lpid = statusPid(join(svc, 'log'));
      await run('svc', ['-t', join(svc, 'log')]);
      loggerRestarts++;
      if (kind === 'run') await waitFor(() => statusPid(join(svc, 'log')) !== lpid && statusPid(join(svc, 'log')), 'logger restarted');
      else await waitEvent(dir, (e) => e.event === 'logger-exit' && e.service === 'w/log', 'script logger stopped');
    }
    await new Promise((r) => setTimeout(r, 150)); // let the new incarnation write a while (rate, not a wait for an event)
  }
  expect(kills).toBeGreaterThanOrEqual(5);
  // the last incarnation must be past its start-up (its TERM handler set, a first batch written) before the
  // stop: under load, a node writer that is TERMed while it starts dies silently (seen: 13 writers for 14)
  const last = await waitFor(() => statusPid(svc), 'the last writer up');
  await waitFor(() => existsSync(join(svc, `progress/${last}`)), 'the last writer writing');
  s.proc.kill('SIGTERM'); // the last writer writes "PID END N" on TERM; svscan drains the logger, then exits
  expect((await s.exited).code).toBe(0);
  const lines = logLines(logdir);
  const r = checkStorm(lines, join(svc, 'progress'));
  expect(r.pids).toBe(kills + 1);
  expect(lines.filter((l) => / END \d+$/.test(l))).toHaveLength(1);
  const notes = lines.filter((l) => l.startsWith('upkeep: exit '));
  if (kind === 'script') {
    expect(notes.length).toBe(kills + 1); // one per death, the last one for the stop
    for (const n of notes.slice(0, -1)) expect(n).toMatch(/^upkeep: exit pid=\d+ code=- signal=SIGKILL uptime=\d+\.\d{3} next=restart$/);
    expect(notes.at(-1)).toMatch(/^upkeep: exit pid=\d+ code=0 signal=- uptime=\d+\.\d{3} next=down$/);
    // each note follows the last line of the writer it names
    for (const n of notes.slice(0, -1)) {
      const pid = /pid=(\d+)/.exec(n)![1];
      const i = lines.indexOf(n);
      expect(lines[i - 1]!.startsWith(`${pid} `)).toBe(true);
    }
  } else {
    expect(notes).toEqual([]); // nothing is injected into a log/run logger's input
  }
  expect(r.lines).toBeGreaterThan(1000);
}

describe('svscan loggers', () => {
  itWithPeer(['multilog', 'svc'])('kill storm with log/run (Debian multilog): every line exactly once', async () => {
    await storm('run');
  });

  itWithPeer(['svc'])('kill storm with log/script (the shared logger): every line exactly once, an exit note per death', async () => {
    await storm('script');
  });

  itWithPeer(['svc', 'svstat'])('log/script loggers share one process; letters act on one logger only; e lines prefixed; loghost crash respawns it', async () => {
    const dir = tree();
    files(dir, {
      'a/run': '#!/bin/sh\necho $$ >> pids\nwhile :; do read x < ../go-a || exit 0; echo "a $x"; done\n',
      'a/log/script': '# a comment\n\n+*\ne\n./main\n',
      'b/run': '#!/bin/sh\necho $$ >> pids\nwhile :; do read x < ../go-b || exit 0; echo "b $x"; done\n',
      'b/log/script': './main\n',
      'b/log/run.disabled': '',
    });
    const { spawnSync } = await import('node:child_process');
    spawnSync('mkfifo', [join(dir, 'go-a'), join(dir, 'go-b')]);
    const s = startScan(dir);
    const ha = await waitFor(() => statusPid(join(dir, 'a/log')), 'a/log up');
    const hb = await waitFor(() => statusPid(join(dir, 'b/log')), 'b/log up');
    expect(ha).toBe(hb); // one shared process
    expect(readFileSync(`/proc/${ha}/cmdline`, 'latin1')).toContain('loghost');
    const send = async (fifo: string, text: string) => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, fifo), `${text}\n`);
    };
    await waitFor(() => statusPid(join(dir, 'a')), 'a up');
    await send('go-a', 'one');
    await waitFor(() => logLines(join(dir, 'a/log/main')).includes('a one'), 'a one logged');
    await waitFor(() => s.stderr().includes('a: a one\n'), 'e line on stderr, prefixed by the service name');

    // svc -d on a/log: a's logger stops reading; b's carries on; the shared process stays.
    await run('svc', ['-d', join(dir, 'a/log')]);
    await waitFor(async () => (await run('svstat', [join(dir, 'a/log')])).stdout.toString().includes(': down'), 'a/log down');
    expect(alive(ha)).toBe(true);
    await send('go-a', 'two');
    await waitFor(() => statusPid(join(dir, 'b')), 'b up');
    await send('go-b', 'one');
    await waitFor(() => logLines(join(dir, 'b/log/main')).includes('b one'), 'b logged while a/log is down');
    expect(logLines(join(dir, 'a/log/main'))).not.toContain('a two');
    await run('svc', ['-u', join(dir, 'a/log')]);
    await waitFor(() => logLines(join(dir, 'a/log/main')).includes('a two'), 'a two logged after svc -u (it waited in the pipe)');

    // loghost killed: restarted on the same pipes; a line written while it was dead is logged.
    process.kill(ha, 'SIGKILL');
    await waitFor(() => !alive(ha), 'loghost dead');
    await send('go-b', 'two');
    const h2 = await waitFor(() => statusPid(join(dir, 'b/log')) !== ha && statusPid(join(dir, 'b/log')), 'loghost respawned', 10_000);
    await waitFor(() => logLines(join(dir, 'b/log/main')).includes('b two'), 'b two logged by the new loghost', 10_000);
    await waitFor(() => statusPid(join(dir, 'a/log')) === h2, 'a/log in the new loghost too', 10_000);
    await waitEvent(dir, (e) => e.event === 'logger-exit' && e.signal === 'SIGKILL' && e.pid === ha, 'logger-exit with SIGKILL');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    expect(alive(h2)).toBe(false);
  });

  itWithPeer(['svc'])('svc -t storm on log/script loggers (doubled, crossing the restart): one clean restart each, no backoff, every line once', async () => {
    // The race it guards (test/e2e/loghost-protocol.test.ts has it step by step): a second -t that crossed
    // the reply to the first, or one landing while the new logger was still opening, was taken for the NEW
    // incarnation's death: a second logger-exit (code 0, or 111 from a second open that found the lock
    // taken) and a backoff. Seen here ~1 round in 10 before the fix.
    const dir = tree();
    const names = ['p', 'q'];
    for (const n of names) {
      files(dir, {
        [`${n}/writer.mjs`]: WRITER,
        [`${n}/run`]: `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
        [`${n}/log/script`]: 't\ns16777215\n./main\n',
      });
    }
    const s = startScan(dir);
    for (const n of names) await waitFor(() => logLines(join(dir, `${n}/log/main`)).length > 50, `${n}: first lines logged`);
    const starts = (name: string): number => journal(dir).filter((e) => e.event === 'logger-start' && e.service === name).length;
    let sent = 0;
    for (let r = 0; r < 40; r++) {
      const name = `${names[r % 2]}/log`;
      const before = starts(name);
      await run('svc', ['-t', join(dir, name)]);
      sent++;
      if (r % 4 !== 0) {
        // the second one at once (crossing the reply), or a little later (around the new logger's open)
        if (r % 4 === 2) await new Promise((res) => setTimeout(res, (r * 7) % 20)); // a spread of gaps, not a wait for an event
        await run('svc', ['-t', join(dir, name)]);
        sent++;
      }
      const outcome = await waitFor(() => {
        const j = journal(dir);
        if (j.some((e) => e.event === 'backoff' && e.service.endsWith('/log'))) return 'a logger backed off';
        return j.filter((e) => e.event === 'logger-start' && e.service === name).length > before ? 'restarted' : undefined;
      }, `${name} restarted (round ${r})`);
      expect(outcome, `round ${r}, ${name}`).toBe('restarted');
    }
    const last = await waitFor(() => statusPid(join(dir, 'q')), 'q up');
    await waitFor(() => existsSync(join(dir, `q/progress/${last}`)), 'q writing');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    const ev = journal(dir).filter((e) => e.service.endsWith('/log'));
    expect(ev.filter((e) => e.event === 'backoff')).toEqual([]);
    const exits = ev.filter((e) => e.event === 'logger-exit');
    expect(exits.filter((e) => e.code !== 0)).toEqual([]);
    expect(exits.length).toBeLessThanOrEqual(sent + names.length); // + the stop of the tree
    expect(exits.length).toBeGreaterThanOrEqual(40 + names.length);
    expect(s.stderr()).not.toContain('unable to lock');
    for (const n of names) {
      const r = checkStorm(logLines(join(dir, `${n}/log/main`)), join(dir, `${n}/progress`));
      expect(r.pids).toBe(1);
    }
  });

  it('log/run wins over log/script with a warning; no-exit-notes turns notes off', async () => {
    const dir = tree();
    files(dir, {
      'a/run': '#!/bin/sh\necho $$ >> pids\necho hello\nexec sleep 1000\n',
      'a/log/run': '#!/bin/sh\nexec cat > captured\n',
      'a/log/script': './main\n',
      'q/run': '#!/bin/sh\necho $$ >> pids\necho quiet\nexit 0\n',
      'q/log/script': './main\n',
      'q/log/no-exit-notes': '',
    });
    const s = startScan(dir);
    await waitFor(() => s.stderr().includes('a/log has both run and script: log/run wins'), `the warning (stderr: ${s.stderr()})`);
    await waitFor(() => existsSync(join(dir, 'a/log/captured')) && readFileSync(join(dir, 'a/log/captured'), 'latin1') === 'hello\n', 'log/run got the line');
    await waitFor(() => logLines(join(dir, 'q/log/main')).filter((l) => l === 'quiet').length >= 2, 'q ran twice');
    expect(logLines(join(dir, 'q/log/main')).filter((l) => l.startsWith('upkeep:'))).toEqual([]);
    const started = journal(dir).filter((e) => e.event === 'logger-start');
    expect(started.map((e) => `${e.service}:${e.kind}`).sort()).toEqual(['a/log:run', 'q/log:script']);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});
