// djb's match() semantics (daemontools match.c), including the no-backtracking cases of the reference, and
// the compiled fast forms checked against the plain algorithm.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, match } from '../../src/core/match.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const m = (p: string, s: string): boolean => {
  const line = b(s);
  return match(b(p), line, line.length);
};

describe('match', () => {
  it.each([
    // [pattern, input, expected]
    ['*', '', true],
    ['*', 'anything at all', true],
    ['', '', true],
    ['', 'x', false],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['abc', 'ab', false],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ba', false],
    ['*c', 'abc', true],
    ['a*b', 'ab', true],
    ['a*b', 'axxb', true],
    ['a*b', 'abxb', false], // the star stops at the first b: no backtracking
    ['*pid*', 'tcpsvd: info: pid 1977', false], // stops at the p of tcpsvd
    ['*pid*', 'pid 1977', true],
    ['**lit', '**lit', true], // a star followed by * skips to a literal *
    ['**lit', 'xx*lit', true],
    ['**lit', 'lit', false],
    ['*ERROR*', 'an ERROR here', true],
    ['*ERROR*', 'Early ERROR', false], // skips to the first E only
    ['\\*', '\\x', true], // no escape: the backslash is literal, then * matches the rest
    ['\\*', '*x', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
  ])('%j vs %j -> %s', (p, s, want) => {
    expect(m(p, s)).toBe(want);
  });

  it('only looks at the first len bytes', () => {
    const line = b('abcdef');
    expect(match(b('abc'), line, 3)).toBe(true);
    expect(match(b('*e'), line, 3)).toBe(false); // the e is beyond len
    expect(match(b('abc*'), line, 3)).toBe(true);
  });

  it('sees bytes, not characters (NUL, 0xff, CR)', () => {
    const line = new Uint8Array([0, 255, 13, 65]);
    expect(match(new Uint8Array([0, 42, 65]), line, 4)).toBe(true);
    expect(match(new Uint8Array([42, 13, 65]), line, 4)).toBe(true);
  });

  it('compiled patterns agree with match() everywhere', () => {
    const alpha = fc.constantFrom(...'ab*'.split(''));
    fc.assert(
      fc.property(fc.array(alpha, { maxLength: 6 }), fc.array(fc.constantFrom('a', 'b', '*'), { maxLength: 8 }), (pa, la) => {
        const p = b(pa.join(''));
        const line = b(la.join(''));
        expect(compilePattern(p)(line, line.length)).toBe(match(p, line, line.length));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('match at an offset', () => {
  it('sees exactly line[off, off+len)', () => {
    const buf = b('zzabcbzz');
    expect(match(b('a*b'), buf, 3, 2)).toBe(false); // "abc": the c is left over
    expect(match(b('a*b'), buf, 4, 2)).toBe(false); // "abcb": the star stops at the first b
    expect(match(b('a*c'), buf, 3, 2)).toBe(true);
    expect(match(b('*z'), buf, 4, 2)).toBe(false); // the z at 6 is outside
    expect(compilePattern(b('abcb'))(buf, 4, 2)).toBe(true);
    expect(compilePattern(b('ab*'))(buf, 2, 2)).toBe(true);
    expect(compilePattern(b('zz*'))(buf, 4, 2)).toBe(false);
  });
});
