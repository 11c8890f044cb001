// svscan SIGKILLed, a new one takes over: the running services and log/run loggers are adopted (never a
// second instance), the old loghost finishes its lines and exits, and every line written throughout is in
// the logs exactly once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { itWithPeer, waitFor } from '../helpers/index.js';
import { alive, checkStorm, files, journal, startScan, statusPid, track, tree, waitEvent, WRITER } from './svscan-helpers.js';

function logLines(logdir: string): string[] {
  if (!existsSync(logdir)) return [];
  const names = readdirSync(logdir).filter((n) => n.startsWith('@')).sort();
  return [...names, 'current']
    .map((n) => (existsSync(join(logdir, n)) ? readFileSync(join(logdir, n), 'latin1') : ''))
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^@[0-9a-f]{24} /, ''));
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('svscan takeover', () => {
  itWithPeer(['multilog'])('after SIGKILL of svscan, a new one adopts services and loggers; no second instance, no line lost', async () => {
    const dir = tree();
    const run = `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`;
    files(dir, {
      'r/writer.mjs': WRITER,
      'r/run': run,
      'r/log/run': '#!/bin/sh\necho $$ >> ../logger-pids\nexec multilog t s16777215 ./main\n',
      's/writer.mjs': WRITER,
      's/run': run,
      's/log/script': 't\ns16777215\n./main\n',
    });
    const first = startScan(dir);
    await waitFor(() => logLines(join(dir, 'r/log/main')).length > 200 && logLines(join(dir, 's/log/main')).length > 200, 'both logging');
    const rpid = statusPid(join(dir, 'r'));
    const spid = statusPid(join(dir, 's'));
    const lpid = statusPid(join(dir, 'r/log'));
    const host = statusPid(join(dir, 's/log'));
    await waitFor(() => existsSync(join(dir, '.upkeep/state.json')) && readFileSync(join(dir, '.upkeep/state.json'), 'utf8').includes(`"pid":${host}`), 'state file with the loghost');
    for (const p of [...childrenOf(first.proc.pid!), host]) track(p);
    first.proc.kill('SIGKILL');
    await first.exited;
    // The writers keep writing into their pipes while no svscan runs.
    const before = logLines(join(dir, 's/log/main')).length;
    await waitFor(() => logLines(join(dir, 's/log/main')).length > before + 100, 'the old loghost keeps logging');

    const second = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'r' && /adopted r \(pid/.test(String(e.msg)), 'r adopted');
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 's' && /adopted s \(pid/.test(String(e.msg)), 's adopted');
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'r/log' && /adopted/.test(String(e.msg)), 'r/log adopted');
    expect(statusPid(join(dir, 'r'))).toBe(rpid);
    expect(statusPid(join(dir, 's'))).toBe(spid);
    expect(statusPid(join(dir, 'r/log'))).toBe(lpid);
    await waitFor(() => !alive(host), 'the old loghost finished and exited');
    const host2 = await waitFor(() => statusPid(join(dir, 's/log')) !== host && statusPid(join(dir, 's/log')), 'a new loghost');
    expect(alive(host2)).toBe(true);
    const after = logLines(join(dir, 's/log/main')).length;
    await waitFor(() => logLines(join(dir, 's/log/main')).length > after + 100, 'the new loghost logs');
    // never a second instance: each writer and the multilog were started once
    for (const svc of ['r', 's']) expect(readFileSync(join(dir, svc, 'pids'), 'latin1').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(dir, 'r/logger-pids'), 'latin1').trim().split('\n')).toHaveLength(1);

    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    for (const svc of ['r', 's']) {
      const lines = logLines(join(dir, svc, 'log/main'));
      expect(checkStorm(lines, join(dir, svc, 'progress')).pids).toBe(1);
      expect(lines.filter((l) => / END \d+$/.test(l))).toHaveLength(1);
    }
    const exits = journal(dir).filter((e) => e.event === 'exit');
    expect(exits.map((e) => [e.service, e.adopted, e.code])).toEqual(expect.arrayContaining([['r', true, null], ['s', true, null]]));
  });
});
