// The upkeep-only `%` directives of the multilog engine, in a tmpdir: header lines, JSON lines, time-based
// rotation, the total-size cap and background gzip of archives; every line arrives exactly once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isHeaderMessage } from '../../src/core/logfile-format.js';
import { parseScript } from '../../src/core/script.js';
import { FakeClock } from '../../src/io/clock.js';
import { Logger } from '../../src/io/multilog.js';
import { itWithPeer, tmpdir, waitFor } from '../helpers/index.js';

class TickingClock extends FakeClock {
  override nowMicros(): number {
    return (this.micros += 1000);
  }
}

function open(base: string, args: string[], err: Buffer[] = []): Promise<Logger> {
  return Logger.open({ script: parseScript(args), clock: new TickingClock(), stderr: (b) => void err.push(Buffer.from(b)), baseDir: base, pauseMs: 5, processorStderr: 'ignore' });
}

const archives = (d: string): string[] => readdirSync(d).filter((n) => n.startsWith('@')).sort();
const read = (d: string, n: string): Buffer => (n.endsWith('.gz') ? gunzipSync(readFileSync(join(d, n))) : readFileSync(join(d, n)));
/** Every file in order (archives, then current), each split into lines (without "\n"). */
const files = (d: string): string[][] =>
  [...archives(d), 'current'].map((n) => {
    const t = read(d, n).toString('latin1');
    return t === '' ? [] : t.slice(0, -1).split('\n');
  });

const input = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i} ${'x'.repeat((i * 37) % 300)}`);

describe('%header', () => {
  it('puts one unique header line first in every file, labelled like the others; the data arrive exactly once', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['t', '%header', 's4096', 'n999', './d']);
    const lines = input(400);
    for (let i = 0; i < lines.length; i += 10) lg.write(Buffer.from(lines.slice(i, i + 10).join('\n') + '\n'));
    await lg.end();
    const all = files(d);
    expect(all.length).toBeGreaterThan(10);
    const ids = new Set<string>();
    const data: string[] = [];
    for (const f of all) {
      expect(f[0]).toMatch(/^@400[0-9a-f]{21} upkeep-header host=\S+ dir=\S+\/d id=[0-9a-f]{32} started=\d{4}-\d\d-\d\dT[0-9:.]+Z$/);
      ids.add(/id=(\w+)/.exec(f[0]!)![1]!);
      for (const l of f.slice(1)) {
        expect(isHeaderMessage(Buffer.from(l.slice(26)))).toBe(false);
        data.push(l.slice(26));
      }
    }
    expect(ids.size).toBe(all.length);
    expect(data).toEqual(lines);
    for (const n of [...archives(d), 'current']) expect(statSync(join(d, n)).size).toBeLessThanOrEqual(4096);
  });

  it('an empty current gets no header until its first line', async () => {
    const base = tmpdir();
    const lg = await open(base, ['%header', './d']);
    await lg.idle();
    expect(readFileSync(join(base, 'd/current'), 'latin1')).toBe('');
    lg.write(Buffer.from('a\n'));
    await lg.end();
    expect(readFileSync(join(base, 'd/current'), 'latin1')).toMatch(/^upkeep-header .*\na\n$/);
  });
});

describe('%json', () => {
  it('one JSON object per line, never cut between files; bad bytes in message_base64; long lines in pieces', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['t', '%json', '%header', 's4096', 'n999', './d']);
    const lines: Buffer[] = input(300).map((l) => Buffer.from(l));
    lines.push(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0xc3, 0xa9]));
    lines.push(Buffer.from('é'.repeat(3000))); // 6000 bytes: several pieces, UTF-8 kept whole
    lines.push(...input(50).map((l) => Buffer.from(l)));
    lg.write(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    await lg.end();
    const got: Buffer[] = [];
    let pieces = 0;
    for (const f of files(d).filter((f) => f.length > 0)) {
      const objs = f.map((l) => JSON.parse(Buffer.from(l, 'latin1').toString('utf8')));
      expect(objs[0].upkeep_header).toBe(true);
      for (const o of objs.slice(1)) {
        expect(o.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        expect(o.tai64n).toMatch(/^@400[0-9a-f]{21}$/);
        const bytes = o.message_base64 !== undefined ? Buffer.from(o.message_base64, 'base64') : Buffer.from(o.message);
        if (o.continued) {
          pieces++;
          got[got.length - 1] = Buffer.concat([got[got.length - 1]!, bytes]);
        } else got.push(bytes);
      }
    }
    expect(got).toEqual(lines);
    expect(pieces).toBeGreaterThan(0);
    for (const n of [...archives(d), 'current']) expect(statSync(join(d, n)).size).toBeLessThanOrEqual(4096);
  });

  it('without t, the time is that of arrival, and a line split across writes is one object', async () => {
    const base = tmpdir();
    const lg = await open(base, ['%json', './d']);
    lg.write(Buffer.from('hel'));
    await lg.idle();
    lg.write(Buffer.from('lo\n'));
    await lg.end();
    const objs = readFileSync(join(base, 'd/current'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => o.message)).toEqual(['hello']);
  });
});

describe('%rotate', () => {
  it('rotates a non-empty current after the period with no further input; an empty one stays', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['%rotate=1s', './d']);
    lg.write(Buffer.from('first\n'));
    const a = await waitFor(() => (archives(d).length === 1 ? archives(d) : null), 'the timed rotation', 5000);
    expect(readFileSync(join(d, a[0]!), 'latin1')).toBe('first\n');
    expect(readFileSync(join(d, 'current'), 'latin1')).toBe('');
    lg.write(Buffer.from('second\n'));
    await waitFor(() => archives(d).length === 2, 'the second timed rotation', 5000);
    expect(read(d, archives(d)[1]!).toString()).toBe('second\n');
    await lg.end();
    expect(files(d).flat()).toEqual(['first', 'second']);
  });
});

describe('%total', () => {
  it('keeps the archives under the cap (on top of n), oldest deleted first', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['%total=10k', 's4096', 'n999', './d']);
    const lines = input(600);
    for (let i = 0; i < lines.length; i += 20) lg.write(Buffer.from(lines.slice(i, i + 20).join('\n') + '\n'));
    await lg.end();
    const names = archives(d);
    const total = names.reduce((s, n) => s + statSync(join(d, n)).size, 0);
    expect(total).toBeLessThanOrEqual(10 * 1024);
    expect(names.length).toBeGreaterThanOrEqual(2);
    // what is left is the newest, contiguous tail of the input
    const kept = files(d).flat();
    expect(kept).toEqual(lines.slice(lines.length - kept.length));
  });
});

describe('%gzip', () => {
  it('compresses archives in the background to @<label>.s.gz; nothing lost; counted once by retention', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['%gzip', 's4096', 'n6', './d']);
    const lines = input(500);
    for (let i = 0; i < lines.length; i += 20) lg.write(Buffer.from(lines.slice(i, i + 20).join('\n') + '\n'));
    await lg.end(); // waits for the compression under way
    const names = archives(d);
    expect(names.length).toBe(5); // n6: at most 5 archives, .gz counted as one each
    for (const n of names) expect(n).toMatch(/^@400[0-9a-f]{21}\.s\.gz$/);
    expect(existsSync(join(d, 'gzip.tmp'))).toBe(false);
    const kept = files(d).flat();
    expect(kept).toEqual(lines.slice(lines.length - kept.length));
  });

  it('after a crash: a stale gzip.tmp is redone, an original whose .gz is complete goes', async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    mkdirSync(d);
    const A = '@400000006553f10a00000000.s';
    const B = '@400000006553f10b00000000.u';
    writeFileSync(join(d, A), 'a\n');
    writeFileSync(join(d, A + '.gz'), gzipSync('a\n'));
    writeFileSync(join(d, B), 'b\n');
    writeFileSync(join(d, 'gzip.tmp'), 'half');
    writeFileSync(join(d, 'current'), 'c\n', { mode: 0o744 });
    const lg = await open(base, ['%gzip', './d']);
    await waitFor(() => archives(d).join() === `${A}.gz,${B}.gz` && !existsSync(join(d, 'gzip.tmp')), 'the leftovers handled');
    await lg.end();
    expect(files(d).flat()).toEqual(['a', 'b', 'c']);
  });

  itWithPeer(['multilog'])("Debian's multilog counts a .s.gz archive once in its retention", async () => {
    const base = tmpdir();
    const d = join(base, 'd');
    const lg = await open(base, ['%gzip', 's4096', 'n999', './d']);
    lg.write(Buffer.from(input(300).join('\n') + '\n'));
    await lg.end();
    const before = archives(d);
    expect(before.length).toBeGreaterThan(5);
    // one more rotation by the real multilog with n5: it deletes down to 4 archives, oldest first
    execFileSync('multilog', ['s4096', 'n5', './d'], { cwd: base, input: 'x'.repeat(4200) + '\n' });
    const after = archives(d);
    expect(after.length).toBe(4);
    expect(after.slice(0, 3)).toEqual(before.slice(-3));
  });
});
