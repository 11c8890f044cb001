// Deploy and rollback by symlink: atomic repointing, the previous target kept beside the service.
import { spawn } from 'node:child_process';
import { mkdirSync, readlinkSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy, previousLinkName, rollback } from '../../src/io/deploy.js';
import { scanTree } from '../../src/io/scandir.js';
import { tmpdir, waitFor } from '../helpers/index.js';

function version(root: string, name: string): string {
  const d = join(root, 'versions', name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  return d;
}

describe('deploy and rollback', () => {
  it('creates, repoints and rolls back, keeping the previous target as a dot link', () => {
    const root = tmpdir();
    const tree = join(root, 'service');
    mkdirSync(tree);
    const v1 = version(root, 'myapp-v1.2.3');
    const v2 = version(root, 'myapp-v1.2.4');
    expect(deploy(tree, 'myapp', v1)).toEqual({ from: undefined, to: v1 });
    expect(readlinkSync(join(tree, 'myapp'))).toBe(v1);
    expect(deploy(tree, 'myapp', v2)).toEqual({ from: v1, to: v2 });
    expect(readlinkSync(join(tree, 'myapp'))).toBe(v2);
    expect(readlinkSync(join(tree, previousLinkName('myapp')))).toBe(v1);
    // The scan sees one service; the previous link is a dot name.
    expect(scanTree(tree).entries).toEqual([{ name: 'myapp', target: v2 }]);
    expect(rollback(tree, 'myapp')).toEqual({ from: v2, to: v1 });
    expect(readlinkSync(join(tree, 'myapp'))).toBe(v1);
    expect(readlinkSync(join(tree, '.myapp.previous'))).toBe(v2);
    // No temporary links are left behind.
    expect(readdirSync(tree).sort()).toEqual(['.myapp.previous', 'myapp']);
  });

  it('deploying the current target again changes nothing', () => {
    const root = tmpdir();
    const tree = join(root, 'service');
    mkdirSync(tree);
    const v1 = version(root, 'a-1');
    deploy(tree, 'a', v1);
    expect(deploy(tree, 'a', v1)).toEqual({ from: v1, to: v1 });
    expect(readdirSync(tree)).toEqual(['a']);
  });

  it('refuses a target without run, a plain directory entry, and a rollback with no previous', () => {
    const root = tmpdir();
    const tree = join(root, 'service');
    mkdirSync(join(tree, 'plain'), { recursive: true });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => deploy(tree, 'x', empty)).toThrow(/unable to deploy .*empty: file does not exist/);
    expect(() => deploy(tree, 'plain', version(root, 'p-1'))).toThrow(/is not a symbolic link/);
    symlinkSync(version(root, 'y-1'), join(tree, 'y'));
    expect(() => rollback(tree, 'y')).toThrow(/no previous target/);
  });

  // 5000 repoints: enough that unlink-then-symlink is caught missing (tried: dozens of misses), so this can fail.
  it('never lets the entry disappear while it is repointed (a concurrent reader always finds run)', async () => {
    const root = tmpdir();
    const tree = join(root, 'service');
    mkdirSync(tree);
    const v1 = version(root, 's-1');
    const v2 = version(root, 's-2');
    deploy(tree, 's', v1);
    const reader = spawn('/bin/sh', ['-c', `echo READY; while :; do test -f ${tree}/s/run || echo MISSING; done`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    reader.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.startsWith('READY\n'), 'the reader loop to start');
    out = '';
    try {
      for (let i = 0; i < 5000; i++) deploy(tree, 's', i % 2 ? v1 : v2);
    } finally {
      reader.kill();
      await new Promise((r) => reader.once('exit', r));
    }
    expect(out).toBe('');
  });
});
