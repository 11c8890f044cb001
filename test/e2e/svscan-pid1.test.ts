// upkeep svscan under tini as PID 1 of its own PID namespace (what a container does):
// `unshare --pid --fork --mount-proc tini -- upkeep svscan DIR`. Node reaps only its own children, so the
// orphans a service leaves behind are re-parented to tini, which reaps them; SIGTERM to tini reaches
// svscan, which stops the tree and exits, and then the whole namespace is gone.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { UPKEEP, itWithPeer, run, tmpdir, waitFor } from '../helpers/index.js';

/** Host pids of the children of `ppid`, with their state letter and command name. */
function children(ppid: number): { pid: number; state: string; comm: string }[] {
  const out: { pid: number; state: string; comm: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, pp] = stat.slice(close + 2).split(' ');
      if (Number(pp) === ppid) out.push({ pid: Number(e), state: state!, comm });
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('upkeep svscan as the child of tini, PID 1 of a new PID namespace', () => {
  const peer = process.getuid?.() === 0 ? itWithPeer(['unshare', 'tini', 'svstat']) : itWithPeer(['unshare-as-root']);
  peer('reaps orphans through tini, serves svstat, and stops cleanly on SIGTERM', async () => {
    const tree = tmpdir();
    const svc = join(tree, 'orphans');
    mkdirSync(svc);
    // The service leaves an orphan behind (a double fork) and then runs on.
    writeFileSync(join(svc, 'run'), '#!/bin/sh\n( sleep 0.5 & )\necho up\nexec sleep 1000\n', { mode: 0o755 });
    const ns = spawn('unshare', ['--pid', '--fork', '--mount-proc', 'tini', '--', UPKEEP, 'svscan', tree], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    ns.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => ns.once('exit', (code) => r(code)));
    try {
      const tini = await waitFor(() => children(ns.pid!).find((c) => c.comm === 'tini'), 'tini to start');
      // The orphan shows up as a child of tini (PID 1 inside), then disappears without staying a zombie.
      const orphan = await waitFor(() => children(tini.pid).find((c) => c.comm === 'sleep'), 'the orphan re-parented to tini');
      await waitFor(() => !children(tini.pid).some((c) => c.pid === orphan.pid), 'tini to reap the orphan', 15_000);
      // Debian's svstat reads the status svscan writes from inside the namespace.
      await waitFor(async () => /: up \(pid \d+\) \d+ seconds\n$/.test((await run('svstat', [svc])).stdout.toString()), 'svstat up');
      process.kill(tini.pid, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(err).not.toMatch(/fatal/);
      expect(readFileSync(join(svc, 'supervise/status')).readUInt32LE(12)).toBe(0); // pid 0: stopped
    } finally {
      if (ns.exitCode === null) ns.kill('SIGKILL');
    }
  });
});
