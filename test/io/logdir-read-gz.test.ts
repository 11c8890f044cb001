// Compressed archives (`@<label>.s.gz`, the logger's %gzip) in the log directory reader: read by
// uncompressed offset through zlib, recognised as already read when a file being read is compressed
// away under the reader, and found again by a cursor saved before the compression. Each race is made
// deterministic here by doing the logger's steps by hand between two reads.
import { appendFileSync, openSync, closeSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { formatStamp } from '../../src/core/logline.js';
import { GzReader, gzSize } from '../../src/io/gz-read.js';
import { DirReader, lineEndsAt, listLogdir, startAll, startAt } from '../../src/io/logdir-read.js';
import { tmpdir } from '../helpers/index.js';

let tick = 0;
/** `n` labelled lines with increasing stamps. */
function labelled(n: number, tag: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${formatStamp({ tai: 1_800_000_000 + ++tick, nano: 500 })} ${tag} ${i}\n`;
  return s;
}
const nextName = (): string => formatStamp({ tai: 1_800_000_000 + ++tick, nano: 0 }) + '.s';

/** The logger's %gzip step: NAME -> NAME.gz (new inode, same bytes), then NAME removed. */
function compress(d: string, name: string): void {
  writeFileSync(join(d, name + '.gz'), gzipSync(readFileSync(join(d, name))));
  unlinkSync(join(d, name));
}

/** multilog's rotation: current -> @stamp.s, a new empty current. */
function rotate(d: string): string {
  const name = nextName();
  renameSync(join(d, 'current'), join(d, name));
  writeFileSync(join(d, 'current'), '');
  return name;
}

function drain(r: DirReader): string[] {
  const out: string[] = [];
  r.refresh();
  while (r.next()) {
    out.push(r.buf.toString('latin1', r.ls, r.le));
    r.markGiven();
  }
  return out;
}

describe('GzReader', () => {
  it('reads any range of the uncompressed bytes, forwards and backwards, in bounded steps', () => {
    const d = tmpdir();
    let text = '';
    for (let i = 0; i < 40000; i++) text += `line ${i} ${'abc'.repeat(i % 50)}\n`;
    const data = Buffer.from(text);
    writeFileSync(join(d, 'a.gz'), gzipSync(data));
    const fd = openSync(join(d, 'a.gz'), 'r');
    try {
      expect(gzSize(fd, readFileSync(join(d, 'a.gz')).length)).toBe(data.length);
      const g = new GzReader(fd);
      expect(g.streaming).toBe(true); // this Node has the synchronous zlib step (no whole-archive fallback)
      const b = Buffer.alloc(7000);
      for (const pos of [0, 5, 100_000, 99_000, data.length - 10, 3_000_000, 1234]) {
        const n = g.read(b, 0, b.length, pos);
        expect(n).toBe(Math.max(0, Math.min(b.length, data.length - pos, n)));
        expect(b.subarray(0, n).equals(data.subarray(pos, pos + n))).toBe(true);
        if (pos < data.length) expect(n).toBeGreaterThan(0);
      }
      expect(g.read(b, 0, 10, data.length)).toBe(0);
      g.close();
    } finally {
      closeSync(fd);
    }
  });

  it('throws on corrupt data (the reader warns and skips the rest)', () => {
    const d = tmpdir();
    const gz = gzipSync(Buffer.from('x'.repeat(10000)));
    gz.fill(0x55, 12, 30);
    writeFileSync(join(d, 'bad.gz'), gz);
    const fd = openSync(join(d, 'bad.gz'), 'r');
    const g = new GzReader(fd);
    expect(() => g.read(Buffer.alloc(100), 0, 100, 0)).toThrow();
    g.close();
    closeSync(fd);
  });
});

describe('logdir-read with compressed archives', () => {
  it('reads .s.gz archives in name order with plain ones and current; a .gz next to its original counts once', () => {
    const d = tmpdir();
    const a = labelled(50, 'a');
    const b = labelled(50, 'b');
    const c = labelled(50, 'c');
    const n1 = nextName();
    const n2 = nextName();
    writeFileSync(join(d, n1 + '.gz'), gzipSync(a));
    writeFileSync(join(d, n2), b);
    writeFileSync(join(d, n2 + '.gz'), gzipSync(b)); // the compressor's window between rename and unlink
    writeFileSync(join(d, 'current'), c);
    expect(listLogdir(d).map((f) => f.name)).toEqual([n1 + '.gz', n2, 'current']);
    expect(listLogdir(d)[0]!.size).toBe(a.length); // the uncompressed size
    const r = new DirReader(d, { service: 's', rank: 0 });
    startAll(r, {});
    expect(drain(r).join('\n') + '\n').toBe(a + b + c);
  });

  it('a queued archive compressed before it was opened is read from its .gz, without a warning', () => {
    const d = tmpdir();
    const a = labelled(30, 'a');
    const n1 = nextName();
    writeFileSync(join(d, n1), a);
    writeFileSync(join(d, 'current'), labelled(5, 'c'));
    const warns: string[] = [];
    const r = new DirReader(d, { service: 's', rank: 0, warn: (t) => warns.push(t) });
    startAll(r, {});
    compress(d, n1);
    const got = drain(r);
    expect(got.slice(0, 30).join('\n') + '\n').toBe(a);
    expect(got).toHaveLength(35);
    expect(warns).toEqual([]);
  });

  it('following: current rotated and compressed before the reader lists again: the .gz is recognised, no line twice, no warning', () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '');
    const warns: string[] = [];
    const r = new DirReader(d, { service: 's', rank: 0, track: true, warn: (t) => warns.push(t) });
    startAll(r, {});
    const want: string[] = [];
    const got: string[] = [];
    for (let round = 0; round < 6; round++) {
      const one = labelled(20, `r${round}`);
      appendFileSync(join(d, 'current'), one);
      want.push(...one.split('\n').slice(0, -1));
      // Half the rounds read before the rotation, the rest only after it (the rest from the old fd).
      if (round % 2 === 0) got.push(...drain(r));
      const more = labelled(3, `late${round}`);
      appendFileSync(join(d, 'current'), more);
      want.push(...more.split('\n').slice(0, -1));
      const name = rotate(d);
      compress(d, name); // before the reader sees the name NAME at all
      got.push(...drain(r));
      got.push(...drain(r));
    }
    // A compression long after the reader saw the plain archive name: the .gz is the same archive.
    const late = labelled(4, 'seen');
    appendFileSync(join(d, 'current'), late);
    want.push(...late.split('\n').slice(0, -1));
    const seen = rotate(d);
    got.push(...drain(r), ...drain(r));
    compress(d, seen);
    const end = labelled(4, 'end');
    appendFileSync(join(d, 'current'), end);
    want.push(...end.split('\n').slice(0, -1));
    rotate(d); // (the reader lists the directory again only after a rotation)
    got.push(...drain(r), ...drain(r));
    expect(got).toEqual(want);
    expect(warns).toEqual([]);
  });

  it('a cursor saved in current (or a plain archive) is found again in the .gz at the same uncompressed offset', () => {
    const d = tmpdir();
    const a = labelled(40, 'a');
    writeFileSync(join(d, 'current'), a);
    const r = new DirReader(d, { service: 's', rank: 0, track: true });
    startAll(r, {});
    for (let i = 0; i < 25; i++) {
      expect(r.next()).toBe(true);
      r.markGiven();
    }
    const pos = r.position()!;
    r.close();
    expect(pos.file).toBe('current');
    appendFileSync(join(d, 'current'), labelled(10, 'b'));
    const name = rotate(d);
    appendFileSync(join(d, 'current'), labelled(5, 'c'));
    compress(d, name);
    expect(lineEndsAt(d, name + '.gz', pos.offset, pos.label, pos.hash)).toBe(true);
    expect(lineEndsAt(d, name + '.gz', pos.offset - 2, pos.label, pos.hash)).toBe(false);
    const r2 = new DirReader(d, { service: 's', rank: 0, track: true });
    expect(startAt(r2, pos)).toBeNull();
    const got = drain(r2);
    expect(got.map((l) => l.slice(26))).toEqual([
      ...Array.from({ length: 15 }, (_, i) => `a ${25 + i}`),
      ...Array.from({ length: 10 }, (_, i) => `b ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `c ${i}`),
    ]);
    r2.close();
    // A position inside the .gz is saved under the archive's plain name, and resumes there.
    const r3 = new DirReader(d, { service: 's', rank: 0, track: true });
    startAll(r3, {});
    for (let i = 0; i < 45; i++) {
      r3.next();
      r3.markGiven();
    }
    const p3 = r3.position()!;
    r3.close();
    expect(p3.file).toBe(name);
    const r4 = new DirReader(d, { service: 's', rank: 0, track: true });
    expect(startAt(r4, p3)).toBeNull();
    expect(drain(r4).map((l) => l.slice(26))).toEqual([...Array.from({ length: 5 }, (_, i) => `b ${5 + i}`), ...Array.from({ length: 5 }, (_, i) => `c ${i}`)]);
    r4.close();
  });
});
