// `upkeep report` on a journal and logs written by the real supervisor (`upkeep svscan`): a crash loop
// and a steady service, stopped with the tree; the report must find every death the journal recorded,
// flag the loop, and take each death's context exactly from the exit notes of the shared logger.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upkeep, waitFor } from '../helpers/index.js';
import { files, journal, startScan, tree } from './svscan-helpers.js';

describe('upkeep report on a tree run by upkeep svscan', () => {
  it('finds every death, the flap and the exact crash context', async () => {
    const dir = tree();
    files(dir, {
      'crashy/run': '#!/bin/sh\necho "crashy: starting pid $$"\necho "crashy: about to fail pid $$"\nexit 3\n',
      'crashy/backoff-base': '20\n',
      'crashy/backoff-max': '50\n',
      'crashy/log/script': 't\n./main\n',
      'steady/run': '#!/bin/sh\necho "steady: up"\nexec sleep 1000\n',
      'steady/log/script': 't\n./main\n',
    });
    const scan = startScan(dir);
    const crashExits = () => journal(dir).filter((e) => e.event === 'exit' && e.service === 'crashy');
    await waitFor(() => crashExits().length >= 7, 'seven deaths of crashy', 20_000);
    scan.proc.kill('SIGTERM');
    expect(await scan.exited, scan.stderr()).toEqual({ code: 0, signal: null });

    // What the journal says, read independently of the report.
    const deaths = crashExits().filter((e) => e.operator === false);
    expect(deaths.length).toBeGreaterThanOrEqual(7);
    const r = await upkeep(['report', '--format', 'json', dir], { env: { ...process.env, UPKEEP_DEBUG: '1' } });
    expect(r.stderr.toString()).toBe('');
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.input).toMatchObject({ truncated: 0, corrupt: 0, unknown: 0 });
    const crashy = rep.services.find((s: { name: string }) => s.name === 'crashy');
    const steady = rep.services.find((s: { name: string }) => s.name === 'steady');
    expect(crashy.deaths).toBe(deaths.length);
    expect(crashy.causes).toEqual({ 'exit:3': deaths.length });
    expect(crashy.flapping).toBe(true);
    expect(crashy.flaps[0]).toMatchObject({ rule: 'burst', start: deaths[0]!.time });
    const failed = crashy.exits.filter((e: { failure: boolean }) => e.failure);
    expect(failed.map((e: { pid: number }) => e.pid)).toEqual(deaths.map((e) => e.pid));
    for (const e of failed) {
      expect(e.contextKind, `context of pid ${e.pid}`).toBe('exact');
      expect(e.context).toEqual([`crashy: starting pid ${e.pid}`, `crashy: about to fail pid ${e.pid}`]);
    }
    expect(steady).toMatchObject({ deaths: 0, stops: 1, flapping: false, causes: {} });
    // The notes are where the report found them: in crashy's log, stamped by t.
    const log = readFileSync(join(dir, 'crashy/log/main/current'), 'latin1');
    expect(log.match(/upkeep: exit pid=\d+ code=3 signal=- /g)?.length).toBeGreaterThanOrEqual(deaths.length);
  });
});
