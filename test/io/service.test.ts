// The Service object in-process, as svscan will use it: several in one process, no globals, no exit;
// start() fails cleanly; done settles after stop(); the lock is released for the next supervisor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FatalError } from '../../src/core/errors.js';
import { Service } from '../../src/io/service.js';
import { run, waitFor } from '../helpers/index.js';
import { alive, readStatus, serviceDir, SLEEPER, waitStatus } from '../e2e/supervise-helpers.js';

const services: Service[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) {
    s.stop();
    s.stop(); // second request: SIGKILL to the group
    await s.done;
  }
});

function make(dir: string, warnings: string[] = []): Service {
  const s = new Service({ dir, stdio: 'ignore', warn: (l) => warnings.push(l) });
  services.push(s);
  return s;
}

describe('Service', () => {
  it('runs several services in one process and stops each on request', async () => {
    const dirs = [serviceDir(SLEEPER), serviceDir(SLEEPER), serviceDir(SLEEPER, { down: true })];
    const svcs = dirs.map((d) => make(d));
    await Promise.all(svcs.map((s) => s.start()));
    const [a, b] = await Promise.all(dirs.slice(0, 2).map((d) => waitStatus(d, (s) => s.pid !== 0, 'up')));
    expect(a!.pid).not.toBe(b!.pid);
    expect(svcs.map((s) => s.state!.phase)).toEqual(['up', 'up', 'down']);
    for (const d of dirs) expect((await run('svok', [d])).code).toBe(0);

    svcs[0]!.stop();
    await svcs[0]!.done;
    expect(alive(a!.pid)).toBe(false);
    expect((await run('svok', [dirs[0]!])).code).toBe(100);
    expect(alive(b!.pid)).toBe(true); // the others are untouched
    expect(svcs[1]!.state!.phase).toBe('up');

    svcs[1]!.control('d');
    await waitStatus(dirs[1]!, (s) => s.pid === 0, 'b down');
    svcs[1]!.control('u');
    await waitStatus(dirs[1]!, (s) => s.pid !== 0, 'b up again');
  });

  it('start() throws a FatalError and leaves nothing open when the lock is taken', async () => {
    const dir = serviceDir(SLEEPER);
    const first = make(dir);
    await first.start();
    const second = new Service({ dir, stdio: 'ignore' });
    await expect(second.start()).rejects.toThrow(FatalError);
    await expect(second.start()).rejects.toThrow(`unable to acquire ${dir}/supervise/lock: temporary failure`);
    first.control('dx');
    await first.done;
    const third = make(dir);
    await third.start(); // the lock was released
    await waitStatus(dir, (s) => s.pid !== 0, 'third supervisor started the service');
  });

  it('reports an unstartable run through the warn callback', async () => {
    const dir = serviceDir(null);
    const warnings: string[] = [];
    const s = make(dir, warnings);
    await s.start();
    await waitFor(() => warnings.length > 0, 'a warning');
    expect(warnings).toEqual([`supervise: warning: unable to start ${dir}/run: file does not exist`]);
    expect(s.state!.phase).toBe('backoff');
    expect(readStatus(dir)!.want).toBe('u');
    expect(readFileSync(join(dir, 'supervise/status')).length).toBe(18);
  });
});
