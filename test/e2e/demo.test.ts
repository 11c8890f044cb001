// The README's main job (npm run demo) works: a tree under svscan, status, merged logs, a clean stop, a report.
import { join } from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, run, tmpdir } from '../helpers/index.js';

describe('fixtures/demo/run-demo.sh', () => {
  it('supervises the demo tree, shows status and logs, stops it and reports the crash-looping worker', async () => {
    const work = tmpdir();
    const r = await run('/bin/sh', [join(ROOT, 'fixtures/demo/run-demo.sh')], {
      env: { ...process.env, DEMO_SECONDS: '6', DEMO_DIR: work },
    });
    const out = r.stdout.toString();
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(out).toMatch(/service\/web: up \(pid \d+\) \d+ seconds/);
    expect(out).toMatch(/service\/ticker: up \(pid \d+\) \d+ seconds/);
    expect(out).toMatch(/^== the newest lines of all three logs/m);
    expect(out).toMatch(/^worker +\d+ +\d+ /m); // the report's summary row
    expect(out).toMatch(/\(report exit status: [01]\)/);
    // Stopped cleanly: every logger closed its current (the u+x bit marks a clean finish).
    for (const s of ['web', 'worker', 'ticker']) {
      const current = join(work, 'service', s, 'log/main/current');
      expect(existsSync(current), current).toBe(true);
    }
    // The worker's deaths are in its log, each marked by the shared logger's exit note.
    const worker = readFileSync(join(work, 'service/worker/log/main/current'), 'latin1');
    expect(worker).toMatch(/ upkeep: exit pid=\d+ code=(3|-) signal=(-|SIGSEGV) /);
    const journal = readFileSync(join(work, 'service/.upkeep/journal.jsonl'), 'utf8');
    expect(journal).toMatch(/"event":"supervisor-stop"/);
  });
});
