// Whether a deploy keeps the running logger (the same definition, the same log directories) or restarts it.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loggerChange, loggerDef } from '../../src/io/logger-def.js';
import { tmpdir } from '../helpers/index.js';

/** A version directory with the given log/ files (null: no log/ at all). */
function version(root: string, name: string, log: Record<string, string> | null): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  if (log) {
    mkdirSync(join(d, 'log'));
    for (const [k, t] of Object.entries(log)) writeFileSync(join(d, 'log', k), t);
  }
  return d;
}

function change(a: string, b: string, scripts = true): string | null {
  return loggerChange(loggerDef(a, scripts), loggerDef(b, scripts));
}

describe('loggerDef and loggerChange', () => {
  it('log/script: the same once paths are resolved (a stable directory), another when they lead elsewhere', () => {
    const root = tmpdir();
    const logs = join(root, 'logs/app');
    const a = version(root, 'a', { script: `t\n${logs}\n=${root}/status\n` });
    const b = version(root, 'b', { script: `# a comment\n\nt\n${logs}/\n=../../status\n` }); // same places, other spelling
    const rel1 = version(root, 'rel1', { script: 't\n./main\n' });
    const rel2 = version(root, 'rel2', { script: 't\n./main\n' }); // same bytes, another log/main
    const up = version(root, 'up', { script: `t\n../../logs/app\n=../../status\n` }); // relative, to the same places
    expect(loggerDef(a, true)).toMatchObject({ kind: 'script', actions: ['t', logs, `=${root}/status`], notes: true });
    expect(change(a, b)).toBe(null);
    expect(change(a, up)).toBe(null);
    expect(change(a, version(root, 'nostatus', { script: `t\n${logs}\n` }))).toBe('log/script changed');
    expect(change(rel1, rel2)).toBe('log/script changed');
    expect(change(version(root, 's1', { script: 't\n./x\n' }), version(root, 's2', { script: 's5000\n./x\n' }))).toBe('log/script changed');
    const n = version(root, 'n', { script: `t\n${logs}\n=${root}/status\n`, 'no-exit-notes': '' });
    expect(change(a, n)).toBe('log/no-exit-notes changed');
  });

  it('a log/ shared by two versions (a symlink to one directory) is the same logger, for either kind', () => {
    const root = tmpdir();
    const shared = join(root, 'shared-log');
    mkdirSync(shared);
    writeFileSync(join(shared, 'run'), '#!/bin/sh\nexec multilog t ./main\n');
    const a = version(root, 'a', null);
    const b = version(root, 'b', null);
    symlinkSync(shared, join(a, 'log'));
    symlinkSync(shared, join(b, 'log'));
    expect(change(a, b)).toBe(null);
  });

  it('log/run: the same bytes in another log/ is another logger (its relative paths resolve there)', () => {
    const root = tmpdir();
    const run = '#!/bin/sh\nexec multilog t ./main\n';
    expect(change(version(root, 'a', { run }), version(root, 'b', { run }))).toBe('log/run runs in another log/ directory');
    expect(change(version(root, 'c', { run }), version(root, 'd', { run: `${run}# changed\n` }))).toBe('log/run changed');
    expect(change(version(root, 'e', {}), version(root, 'f', {}))).toBe('log/run changed'); // neither: never the same
  });

  it('kinds: log/run wins over log/script; log/script needs the shared logger; log/ appears and goes', () => {
    const root = tmpdir();
    const both = version(root, 'both', { run: '#!/bin/sh\nexec cat\n', script: 't\n./main\n' });
    const script = version(root, 'script', { script: 't\n./main\n' });
    const none = version(root, 'none', null);
    expect(loggerDef(both, true).kind).toBe('run');
    expect(loggerDef(script, false).kind).toBe('run');
    expect(change(both, script)).toBe('log/run replaced by log/script');
    expect(change(script, both)).toBe('log/script replaced by log/run');
    expect(change(none, script)).toBe('log/ appeared');
    expect(change(script, none)).toBe('log/ is gone');
    expect(change(none, version(root, 'none2', null))).toBe(null);
  });
});
