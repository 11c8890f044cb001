// Script parsing: every argument is an action; `t` only first; s/n/! sticky with djb's numeric parsing and
// multilog's clamps; unknown actions ignored.
import { describe, expect, it } from 'vitest';
import { parseNum, parseScript, parseSize, scanUlong } from '../../src/core/script.js';

describe('scanUlong', () => {
  it.each([
    ['', 0n],
    ['abc', 0n],
    ['123', 123n],
    ['12x3', 12n],
    ['007', 7n],
    ['18446744073709551615', 18446744073709551615n],
    ['18446744073709551616', 0n], // wraps like C's unsigned long
    ['-5', 0n],
  ])('%j -> %s', (s, v) => expect(scanUlong(s)).toBe(v));
});

describe('clamps', () => {
  it.each([
    ['', 4096],
    ['100', 4096],
    ['abc', 4096],
    ['4095', 4096],
    ['4096', 4096],
    ['99999', 99999],
    ['16777215', 16777215],
    ['16777216', 16777215],
    ['999999999999', 16777215],
    ['18446744073709551616', 4096],
  ])('s%s -> %d', (arg, want) => expect(parseSize(arg)).toBe(want));

  it.each([
    ['', 2],
    ['0', 2],
    ['1', 2],
    ['2', 2],
    ['3', 3],
    ['10x', 10],
  ])('n%s -> %d', (arg, want) => expect(parseNum(arg)).toBe(want));
});

describe('parseScript', () => {
  it('honours t only as the very first argument, and any first argument starting with t', () => {
    expect(parseScript(['t', './d']).timestamp).toBe(true);
    expect(parseScript(['tfoo', './d']).timestamp).toBe(true);
    expect(parseScript(['./d', 't']).timestamp).toBe(false);
    expect(parseScript(['e', 't']).timestamp).toBe(false);
    expect(parseScript([]).timestamp).toBe(false);
  });

  it('defaults, sticky settings per logdir', () => {
    const s = parseScript(['./a', 's5000', 'n3', '!gzip', './b', 's1', '/c', 'n0', '!', './d']);
    expect(s.logdirs).toEqual([
      { dir: './a', size: 99999, num: 10, processor: null },
      { dir: './b', size: 5000, num: 3, processor: 'gzip' },
      { dir: '/c', size: 4096, num: 3, processor: 'gzip' },
      { dir: './d', size: 4096, num: 2, processor: '' },
    ]);
  });

  it('keeps actions in order and ignores unknown ones', () => {
    const s = parseScript(['t', '-*', '+a*', 'e', 'exyz', '=st', './d', 'T', 'q', 'xyz', '', '--help', '=', './e']);
    expect(s.actions.map((a) => a.kind)).toEqual([
      'deselect', 'select', 'stderr', 'stderr', 'status', 'logdir', 'deselect', 'status', 'logdir',
    ]);
    expect(s.statusFiles).toEqual(['st', '']);
    expect(s.trivial).toBe(false);
    const help = s.actions[6];
    expect(help?.kind === 'deselect' && help.pattern).toBe('-help');
  });

  it('a script of logdirs and settings only is trivial (the fast path)', () => {
    expect(parseScript(['t', 's4096', 'n3', './d', '/e']).trivial).toBe(true);
    expect(parseScript(['t', '+x', './d']).trivial).toBe(false);
  });

  it('compiled patterns apply djb semantics', () => {
    const s = parseScript(['-a*b']);
    const a = s.actions[0]!;
    const line = new TextEncoder().encode('abxb');
    expect(a.kind === 'deselect' && a.test(line, line.length)).toBe(false);
  });
});
