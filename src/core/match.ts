// multilog's pattern semantics (daemontools match.c), pure. A pattern is literal bytes with `*` as the only
// special character, anchored at both ends, and scanned without backtracking:
//  - a non-`*` byte must equal the next input byte;
//  - `*` at the end of the pattern matches the rest of the line;
//  - `*` followed by byte c skips input up to the FIRST c (not consumed), failing if there is none.
// So `a*b` does not match `abxb`, and `*pid*` does not match `tcpsvd: info: pid 1` (the star stops at the
// first `p`). There is no escape character.

const STAR = 42;

/** djb's match(): does `pattern` match the `len` bytes of `line` starting at `off`? */
export function match(pattern: Uint8Array, line: Uint8Array, len: number, off = 0): boolean {
  let p = 0;
  let i = off;
  const end = off + len;
  const plen = pattern.length;
  for (;;) {
    if (p === plen) return i === end;
    const ch = pattern[p++]!;
    if (ch === STAR) {
      if (p === plen) return true;
      const next = pattern[p]!;
      // Skip to the first occurrence of `next` (TypedArray.indexOf is a native scan).
      const at = line.indexOf(next, i);
      if (at < 0 || at >= end) return false;
      i = at;
      continue;
    }
    if (i === end || line[i] !== ch) return false;
    i++;
  }
}

/** A compiled pattern: called once per line on the (timestamp +) first 1000 bytes, line[off, off+len). */
export type Matcher = (line: Uint8Array, len: number, off?: number) => boolean;

const always: Matcher = () => true;

/**
 * Compiles a pattern once into the cheapest equivalent test: `*` matches everything, a pattern without `*`
 * is an equality test, `literal*` a prefix test; anything else runs match().
 */
export function compilePattern(pattern: Uint8Array): Matcher {
  const star = pattern.indexOf(STAR);
  if (pattern.length === 1 && star === 0) return always;
  if (star < 0) {
    const lit = pattern.slice();
    const n = lit.length;
    return (line, len, off = 0) => {
      if (len !== n) return false;
      for (let k = 0; k < n; k++) if (line[off + k] !== lit[k]) return false;
      return true;
    };
  }
  if (star === pattern.length - 1) {
    const lit = pattern.slice(0, star);
    const n = lit.length;
    return (line, len, off = 0) => {
      if (len < n) return false;
      for (let k = 0; k < n; k++) if (line[off + k] !== lit[k]) return false;
      return true;
    };
  }
  const pat = pattern.slice();
  return (line, len, off = 0) => match(pat, line, len, off);
}
