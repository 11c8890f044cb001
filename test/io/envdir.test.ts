// envdir's rules, checked against Debian's envdir on the same directory.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEnvdir, envdirValue } from '../../src/core/envdir.js';
import { readEnvdir } from '../../src/io/envdir.js';
import { itWithPeer, tmpdir } from '../helpers/index.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('envdirValue', () => {
  it('follows envdir: empty removes, first line, trailing blanks cut, NUL becomes newline', () => {
    expect(envdirValue(b(''))).toBeNull();
    expect(envdirValue(b('\n'))).toBe('');
    expect(envdirValue(b('hello  \t\nsecond\n'))).toBe('hello');
    expect(envdirValue(b('a\0b'))).toBe('a\nb');
    expect(envdirValue(b('  lead'))).toBe('  lead');
  });

  it('applies removals and values to a copy', () => {
    const base = { A: '1', B: '2' };
    expect(applyEnvdir(base, new Map([['A', null], ['C', 'x']]))).toEqual({ B: '2', C: 'x' });
    expect(base).toEqual({ A: '1', B: '2' });
  });
});

describe('readEnvdir', () => {
  itWithPeer(['envdir'])('gives the same environment as Debian envdir', () => {
    const dir = join(tmpdir(), 'env');
    mkdirSync(dir);
    writeFileSync(join(dir, 'A'), 'hello  \t\nsecond\n');
    writeFileSync(join(dir, 'B'), '');
    writeFileSync(join(dir, 'C'), '\n');
    writeFileSync(join(dir, 'D'), 'a\0b');
    writeFileSync(join(dir, 'E'), 'caf\u00e9');
    writeFileSync(join(dir, '.hidden'), 'x');
    const base = { PATH: '/usr/bin:/bin', B: 'keep?', KEEP: 'yes' };
    const real = spawnSync('envdir', [dir, 'env', '-0'], { env: base });
    expect(real.status).toBe(0);
    const theirs = Object.fromEntries(
      real.stdout.toString('utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    expect(applyEnvdir(base, readEnvdir(dir))).toEqual(theirs);
  });

  it('fails on a subdirectory, as envdir does', () => {
    const dir = tmpdir();
    mkdirSync(join(dir, 'sub'));
    expect(() => readEnvdir(dir)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
