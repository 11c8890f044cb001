// bin/upkeep, the launcher: what starting through Node would change is put back (upkeep(8), RUNTIME).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UPKEEP, run, tmpdir, waitFor, which } from '../helpers/index.js';

describe('bin/upkeep', () => {
  it('gives children NODE_OPTIONS unchanged, and none of the launcher\'s variables', async () => {
    const dir = join(tmpdir(), 'svc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run'), '#!/bin/sh\nenv > env.txt\nexec sleep 1000\n', { mode: 0o755 });
    const sup = spawn(UPKEEP, ['supervise', dir], {
      stdio: 'ignore',
      env: { PATH: process.env.PATH, NODE_OPTIONS: '--no-such-node-flag' },
    });
    try {
      await waitFor(() => existsSync(join(dir, 'env.txt')) && readFileSync(join(dir, 'env.txt'), 'utf8').includes('PATH='), 'the service to write its environment');
      const env = readFileSync(join(dir, 'env.txt'), 'utf8');
      expect(env).toMatch(/^NODE_OPTIONS=--no-such-node-flag$/m);
      expect(env).not.toMatch(/UPKEEP_/);
    } finally {
      sup.kill('SIGTERM');
      await new Promise((r) => sup.once('exit', r));
    }
  });

  it('keeps a signal ignored by the parent ignored, and SIGUSR1 terminates without opening a debugger', async () => {
    // A shell ignores HUP, then starts tai64n reading a pipe that stays open; HUP must not kill it.
    const child = spawn('/bin/sh', ['-c', `trap '' HUP; exec "${UPKEEP}" tai64n`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    child.stdin!.write('one\n');
    await waitFor(() => out.endsWith(' one\n'), 'the first line');
    child.kill('SIGHUP');
    child.stdin!.write('two\n');
    await waitFor(() => out.endsWith(' two\n'), 'a line after SIGHUP');
    child.kill('SIGUSR1');
    expect(await exited).toBe('SIGUSR1');
    expect(err).toBe('');
  });

  it('starts under a tight softlimit -m that Node alone cannot start under', async () => {
    const softlimit = which('softlimit');
    if (!softlimit) throw new Error('softlimit (daemontools) is needed');
    const bare = await run(softlimit, ['-m', '3000000', 'node', '-e', '0']);
    expect(bare.code === 0 && bare.signal === null).toBe(false);
    const r = await run(softlimit, ['-m', '3000000', UPKEEP, 'tai64n'], { input: 'x\n' });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^@[0-9a-f]{24} x\n$/);
  });
});
