// The multilog engine as a library, in a tmpdir with a FakeClock: lines, labels, rotation rule, retention,
// start-up recovery, processor wiring, backpressure, pause-and-retry on write errors, ALRM/TERM semantics.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../src/core/errors.js';
import { parseScript } from '../../src/core/script.js';
import { FakeClock } from '../../src/io/clock.js';
import { realFs, type FsSeam } from '../../src/io/logdir.js';
import { Logger, releaseIdleOutputsNow, type LoggerOptions } from '../../src/io/multilog.js';
import { tmpdir, waitFor } from '../helpers/index.js';

interface Harness {
  base: string;
  clock: FakeClock;
  err: Buffer[];
  stderr(): string;
}

/** A fake clock that moves 1 us per reading, so that successive old-file names differ, as in real life. */
class TickingClock extends FakeClock {
  override nowMicros(): number {
    return this.micros++;
  }
}

function harness(): Harness {
  const err: Buffer[] = [];
  return { base: tmpdir('upkeep-ml-'), clock: new TickingClock(), err, stderr: () => Buffer.concat(err).toString('latin1') };
}

function open(h: Harness, args: string[], extra: Partial<LoggerOptions> = {}): Promise<Logger> {
  return Logger.open({
    script: parseScript(args),
    clock: h.clock,
    stderr: (b) => void h.err.push(Buffer.from(b)),
    baseDir: h.base,
    pauseMs: 5,
    processorStderr: 'ignore',
    ...extra,
  });
}

const ls = (d: string): string[] => readdirSync(d).sort();
const olds = (d: string): string[] => ls(d).filter((n) => n.startsWith('@'));
const mode = (p: string): number => statSync(p).mode & 0o777;
/** All finished files in name order, then current. */
const all = (d: string): Buffer =>
  Buffer.concat([...olds(d).map((n) => readFileSync(join(d, n))), readFileSync(join(d, 'current'))]);

describe('Logger basics', () => {
  it('writes lines, adds the newline to a partial last line, marks current 0744 at the end', async () => {
    const h = harness();
    const lg = await open(h, ['./d']);
    const d = join(h.base, 'd');
    expect(mode(join(d, 'current'))).toBe(0o644);
    expect(mode(d)).toBe(0o700);
    expect(mode(join(d, 'lock'))).toBe(0o600);
    lg.write(Buffer.from('one\ntw'));
    lg.write(Buffer.from('o\n\x00\xff\r\nlast', 'latin1'));
    await lg.end();
    expect(readFileSync(join(d, 'current'))).toEqual(Buffer.from('one\ntwo\n\x00\xff\r\nlast\n', 'latin1'));
    expect(mode(join(d, 'current'))).toBe(0o744);
    expect(ls(d)).toEqual(['current', 'lock', 'state']);
  });

  it('t: a 26-byte label from the clock (daemontools convention, ...500 ns), empty line gets "@label "', async () => {
    const h = harness();
    h.clock.micros = 1_700_000_000_123_456;
    const lg = await open(h, ['t', './d']);
    lg.write(Buffer.from('hello\n\n'));
    await lg.end();
    const want = '@400000006553f10a075bcbf4'; // 2^62 + 1700000000 + 10 s (0x6553f10a), 123456*1000+500 ns
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe(`${want} hello\n${want} \n`);
  });

  it('selection per action position, e and = (the reference example)', async () => {
    const h = harness();
    const lg = await open(h, ['-*', '+a*', 'e', '+b*', './d', '-a*', '=st']);
    lg.write(Buffer.from('a1\nb1\nc1\n'));
    await lg.end();
    expect(h.stderr()).toBe('a1\n');
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe('a1\nb1\n');
    const st = readFileSync(join(h.base, 'st'));
    expect(st.length).toBe(1001);
    expect(st.subarray(0, 3).toString()).toBe('b1\n');
    expect(st.every((c, i) => i < 2 || c === 10)).toBe(true);
    expect(mode(join(h.base, 'st'))).toBe(0o600);
  });

  it('long lines: kept whole in logdirs; e shows 200 bytes + "...", = the first 1000 bytes; matching sees 1000', async () => {
    const h = harness();
    const long = 'x'.repeat(999) + 'MARK' + 'y'.repeat(5000);
    const lg = await open(h, ['-*MARK*', './d', 'e', '=st', '+*', './all']);
    for (let i = 0; i < long.length; i += 333) lg.write(Buffer.from(long.slice(i, i + 333)));
    lg.write(Buffer.from('\nshort\n'));
    await lg.end();
    // MARK starts at byte 999: beyond the 1000 bytes matching sees, so -*MARK* does not deselect
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe(`${long}\nshort\n`);
    expect(readFileSync(join(h.base, 'all/current'), 'latin1')).toBe(`${long}\nshort\n`);
    expect(h.stderr()).toBe(`${'x'.repeat(200)}...\nshort\n`);
    const st = readFileSync(join(h.base, 'st'), 'latin1');
    expect(st).toBe('short' + '\n'.repeat(996));
  });

  it('= keeps a longer old tail (no truncation), writes 1001 bytes at offset 0', async () => {
    const h = harness();
    writeFileSync(join(h.base, 'st'), 'z'.repeat(1500));
    const lg = await open(h, ['=st']);
    lg.write(Buffer.from('abc\n'));
    await lg.end();
    const st = readFileSync(join(h.base, 'st'), 'latin1');
    expect(st).toBe('abc' + '\n'.repeat(998) + 'z'.repeat(499));
  });

  it('start-up failures are FatalErrors with multilog messages', async () => {
    const h = harness();
    await expect(open(h, ['./dup', './dup/'])).rejects.toThrow(FatalError);
    await expect(open(h, ['./dup', './dup/'])).rejects.toThrow('unable to lock directory ./dup/: temporary failure');
    await expect(open(h, ['=nodir/x'])).rejects.toThrow('unable to create nodir/x: file does not exist');
    await expect(open(h, ['./no/such'])).rejects.toThrow('unable to open directory ./no/such: file does not exist');
    writeFileSync(join(h.base, 'file'), '');
    await expect(open(h, ['./file'])).rejects.toThrow('unable to open directory ./file: not a directory');
    // the failed start released the first lock: the directory can be used again
    const lg = await open(h, ['./dup']);
    await lg.end();
  });
});

describe('rotation and retention', () => {
  it('property: the concatenation equals the input; each finished file obeys the cut rule', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 7000 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (lens, chunks, withFilter) => {
          const h = harness();
          const lg = await open(h, withFilter ? ['s4096', 'n100000', '-nothing', './d'] : ['s4096', 'n100000', './d']);
          const data = Buffer.concat(lens.map((n, i) => Buffer.concat([Buffer.alloc(n, 97 + (i % 26)), Buffer.from('\n')])));
          for (let off = 0, k = 0; off < data.length; k++) {
            const n = chunks[k % chunks.length]!;
            lg.write(data.subarray(off, off + n));
            off += n;
            h.clock.advance(1000);
          }
          await lg.end();
          const d = join(h.base, 'd');
          expect(all(d).equals(data)).toBe(true);
          for (const n of olds(d)) {
            const f = readFileSync(join(d, n));
            expect(n).toMatch(/^@[0-9a-f]{24}\.s$/);
            expect(mode(join(d, n))).toBe(0o744);
            expect(f.length).toBeLessThanOrEqual(4096);
            if (f.length < 4096) {
              expect(f[f.length - 1]).toBe(10);
              expect(f.length).toBeGreaterThanOrEqual(4096 - 2000);
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('lines longer than the output buffer are streamed whole, cut at exactly s, with and without t and filters', async () => {
    for (const args of [['s16777215'], ['t', 's16777215'], ['t', 's16777215', '-x', '+*'], ['s4096']]) {
      const h = harness();
      const lg = await open(h, [...args, 'n100000', './d']);
      const long = Buffer.alloc(700 * 1024, 'L');
      const data = Buffer.concat([Buffer.from('head\n'), long, Buffer.from('\ntail\n')]);
      for (let off = 0; off < data.length; off += 99_999) lg.write(data.subarray(off, off + 99_999));
      await lg.end();
      const d = join(h.base, 'd');
      const got = all(d).toString('latin1');
      const plain = args.includes('t') ? got.replace(/^@[0-9a-f]{24} /gm, '') : got;
      expect(plain, args.join(' ')).toBe(data.toString('latin1'));
      if (args.includes('s4096')) {
        const sizes = olds(d).map((n) => statSync(join(d, n)).size);
        expect(sizes.slice(1, -1).every((n) => n === 4096)).toBe(true);
      }
    }
  });

  it('n3 keeps 2 old files; n0 and n1 act as n2 (1 old file); foreign @ names count', async () => {
    for (const [n, keep] of [['n3', 2], ['n1', 1], ['n0', 1]] as const) {
      const h = harness();
      const lg = await open(h, ['s4096', n, './d']);
      for (let i = 0; i < 20; i++) {
        lg.write(Buffer.from('x'.repeat(3999) + '\n'));
        h.clock.advance(1_000_000);
      }
      await lg.end();
      expect(olds(join(h.base, 'd')).length).toBe(keep);
    }
    const h = harness();
    mkdirSync(join(h.base, 'd'));
    writeFileSync(join(h.base, 'd/@0000000000000000000000000junk'), '');
    writeFileSync(join(h.base, 'd/@zzzzzzzzzzzzzzzzzzzzzzzzz'), '');
    const lg = await open(h, ['s4096', 'n3', './d']);
    lg.write(Buffer.from('x'.repeat(3999) + '\n'));
    await lg.end();
    const names = olds(join(h.base, 'd'));
    expect(names.length).toBe(2); // the junk (smallest) went first; @zzz... survives; one .u from recovery went too
    expect(names).toContain('@zzzzzzzzzzzzzzzzzzzzzzzzz');
    expect(names).not.toContain('@0000000000000000000000000junk');
  });

  it('rotateNow (ALRM) rotates non-empty currents only, at an input boundary, without splitting a short line', async () => {
    const h = harness();
    const lg = await open(h, ['./a', './b', '-*', './c']);
    lg.write(Buffer.from('one\npart'));
    lg.rotateNow();
    await lg.idle();
    expect(olds(join(h.base, 'a')).length).toBe(1);
    expect(olds(join(h.base, 'c')).length).toBe(0);
    lg.write(Buffer.from('ial\n'));
    await lg.end();
    const a = join(h.base, 'a');
    expect(readFileSync(join(a, olds(a)[0]!), 'latin1')).toBe('one\n');
    expect(readFileSync(join(a, 'current'), 'latin1')).toBe('partial\n');
  });

  it('a cleanly closed current is reopened and counted toward the size', async () => {
    const h = harness();
    let lg = await open(h, ['s4096', './d']);
    lg.write(Buffer.from('a'.repeat(2999) + '\n'));
    await lg.end();
    writeFileSync(join(h.base, 'd/state'), 'kept');
    lg = await open(h, ['s4096', './d']);
    expect(mode(join(h.base, 'd/current'))).toBe(0o644);
    lg.write(Buffer.from('b'.repeat(999) + '\n'));
    await lg.end();
    const d = join(h.base, 'd');
    expect(olds(d).length).toBe(1); // 3000 + 1000 >= 4096 - 2000: rotated
    expect(readFileSync(join(d, 'state'), 'latin1')).toBe('kept');
  });
});

describe('start-up recovery (every combination of current / previous / processed)', () => {
  const cases = [] as { cur: 'none' | 'clean' | 'unclean'; prev: boolean; proc: 'none' | 'partial' | 'complete' }[];
  for (const cur of ['none', 'clean', 'unclean'] as const)
    for (const prev of [false, true])
      for (const proc of ['none', 'partial', 'complete'] as const) cases.push({ cur, prev, proc });

  it.each(cases)('%j', async ({ cur, prev, proc }) => {
    const h = harness();
    const d = join(h.base, 'd');
    mkdirSync(d);
    if (cur !== 'none') {
      writeFileSync(join(d, 'current'), 'CUR\n');
      chmodSync(join(d, 'current'), cur === 'clean' ? 0o744 : 0o644);
    }
    if (prev) {
      writeFileSync(join(d, 'previous'), 'PREV\n');
      chmodSync(join(d, 'previous'), 0o744);
    }
    if (proc !== 'none') {
      writeFileSync(join(d, 'processed'), 'PROC\n');
      chmodSync(join(d, 'processed'), proc === 'complete' ? 0o744 : 0o644);
    }
    writeFileSync(join(d, 'state'), 'S');
    writeFileSync(join(d, 'newstate'), 'N');
    h.clock.micros = 1_700_000_000_000_000;
    const lg = await open(h, ['./d']);
    lg.destroy();
    const files = ls(d);
    const content = (n: string): string => readFileSync(join(d, n), 'latin1');
    if (cur === 'clean') {
      // nothing touched
      expect(content('current')).toBe('CUR\n');
      expect(content('state')).toBe('S');
      expect(files.filter((n) => n.startsWith('@'))).toEqual([]);
      return;
    }
    const got = files.filter((n) => n.startsWith('@')).map((n) => [n.slice(-1), content(n)]);
    const want: [string, string][] = [];
    if (proc === 'complete') want.push(['s', 'PROC\n']);
    else if (prev) want.push(['u', 'PREV\n']);
    if (cur === 'unclean') want.push(['u', 'CUR\n']);
    expect(got).toEqual(want);
    expect(files.filter((n) => !n.startsWith('@'))).toEqual(['current', 'lock', 'state']);
    expect(content('state')).toBe('');
    expect(content('current')).toBe('');
    expect(mode(join(d, 'current'))).toBe(0o644);
    expect(mode(join(d, 'state'))).toBe(0o644);
  });
});

describe('processor', () => {
  it('wiring: fd 0 previous, fd 1 processed, fd 4 state, fd 5 newstate, cwd the logdir; state carries over', async () => {
    const h = harness();
    const proc = `n=$(wc -l); old=$(cat <&4); echo "lines=$n old=$old cwd=$(pwd)"; echo "count-$n" >&5`;
    const lg = await open(h, ['s4096', `!${proc}`, './d']);
    for (let i = 0; i < 3; i++) {
      lg.write(Buffer.from('y'.repeat(2999) + '\n'));
      lg.rotateNow();
      await lg.idle();
      h.clock.advance(1_000_000);
    }
    await lg.end();
    const d = join(h.base, 'd');
    const outs = olds(d).map((n) => readFileSync(join(d, n), 'latin1'));
    expect(outs).toEqual([
      `lines=1 old= cwd=${d}\n`,
      `lines=1 old=count-1 cwd=${d}\n`,
      `lines=1 old=count-1 cwd=${d}\n`,
    ]);
    expect(readFileSync(join(d, 'state'), 'latin1')).toBe('count-1\n');
    expect(ls(d)).toEqual([...olds(d), 'current', 'lock', 'state']);
    expect(olds(d).every((n) => mode(join(d, n)) === 0o744)).toBe(true);
  });

  it('a failing processor is retried after a pause with multilog warnings; input waits for it (backpressure)', async () => {
    const h = harness();
    const flag = join(h.base, 'ok');
    const lg = await open(h, ['s16777215', `!test -e ${flag} && cat`, './d']);
    lg.write(Buffer.from('z'.repeat(3000) + '\n'));
    lg.rotateNow();
    // rotation is running the failing processor; meanwhile input piles up until write() says stop
    let accepted = true;
    let fed = 0;
    const chunk = Buffer.alloc(64 * 1024, 'q');
    while (accepted) {
      accepted = lg.write(chunk);
      fed += chunk.length;
    }
    expect(fed).toBeLessThanOrEqual(2 * 1024 * 1024);
    const drained = new Promise<void>((r) => lg.once('drain', r));
    await waitFor(() => h.stderr().includes('multilog: warning: processor failed in ./d, pausing\n'), 'a processor failure');
    expect(lg.write(Buffer.alloc(0))).toBe(false); // still blocked
    writeFileSync(flag, '');
    await drained;
    lg.write(Buffer.from('\n'));
    await lg.end();
    const d = join(h.base, 'd');
    expect(all(d).toString('latin1')).toBe('z'.repeat(3000) + '\n' + 'q'.repeat(fed) + '\n');
  });

  it('while a processor runs, write() asks for no more input at once (as multilog stops reading)', async () => {
    const h = harness();
    const flag = join(h.base, 'go');
    const lg = await open(h, [`!while [ ! -e ${flag} ]; do sleep 0.01; done; cat`, './d']);
    lg.write(Buffer.from('first\n'));
    lg.rotateNow();
    await waitFor(() => existsSync(join(h.base, 'd/previous')), 'the rotation to start');
    await new Promise((r) => setImmediate(r));
    expect(lg.write(Buffer.from('second\n'))).toBe(false);
    const drained = new Promise<void>((r) => lg.once('drain', r));
    writeFileSync(flag, '');
    await drained;
    expect(lg.write(Buffer.from('third\n'))).toBe(true);
    await lg.end();
    expect(all(join(h.base, 'd')).toString()).toBe('first\nsecond\nthird\n');
  });

  it('a missing state file: the processor cannot start ("unable to run"), retried forever until it appears', async () => {
    const h = harness();
    const lg = await open(h, ['s4096', '!cat', './d']);
    const d = join(h.base, 'd');
    const { unlinkSync } = await import('node:fs');
    unlinkSync(join(d, 'state'));
    lg.write(Buffer.from('w'.repeat(3000) + '\n'));
    await waitFor(() => h.stderr().includes('multilog: warning: processor failed'), 'a processor failure');
    expect(h.stderr()).toContain('multilog: fatal: unable to run cat: file does not exist\nmultilog: warning: processor failed in ./d, pausing\n');
    writeFileSync(join(d, 'state'), '');
    await lg.end();
    expect(all(d).toString('latin1')).toBe('w'.repeat(3000) + '\n');
  });
});

describe('errors after start-up: warn, pause, retry, never lose a line', () => {
  it('write errors (ENOSPC then EIO) pause and retry; fsync and rename errors too', async () => {
    const h = harness();
    let failWrites = 3;
    let failFsync = 1;
    let failRename = 1;
    const fs: FsSeam = {
      ...realFs,
      writeSync: (fd, b, o, l, p) => {
        if (p === null && failWrites > 0) {
          failWrites--;
          throw Object.assign(new Error('x'), { code: failWrites % 2 ? 'ENOSPC' : 'EIO' });
        }
        return realFs.writeSync(fd, b, o, l, p);
      },
      fsyncSync: (fd) => {
        if (failFsync-- > 0) throw Object.assign(new Error('x'), { code: 'EIO' });
        realFs.fsyncSync(fd);
      },
      renameSync: (a, b) => {
        if (failRename-- > 0) throw Object.assign(new Error('x'), { code: 'ENOSPC' });
        realFs.renameSync(a, b);
      },
    };
    const lg = await open(h, ['s4096', './d'], { fs });
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'p'.repeat(i * 10)}\n`).join('');
    lg.write(Buffer.from(lines));
    await lg.end();
    expect(all(join(h.base, 'd')).toString()).toBe(lines);
    expect(h.stderr()).toBe(
      'multilog: warning: unable to write to ./d/current, pausing: input/output error\n' +
        'multilog: warning: unable to write to ./d/current, pausing: out of disk space\n' +
        'multilog: warning: unable to write to ./d/current, pausing: input/output error\n' +
        'multilog: warning: unable to write ./d/current to disk, pausing: input/output error\n' +
        'multilog: warning: unable to rename current to previous in directory ./d, pausing: out of disk space\n',
    );
  });

  it('= write errors pause and retry; the logdir still gets every line in order', async () => {
    const h = harness();
    let fail = 2;
    const fs: FsSeam = {
      ...realFs,
      writeSync: (fd, b, o, l, p) => {
        if (p === 0 && fail-- > 0) throw Object.assign(new Error('x'), { code: 'EIO' });
        return realFs.writeSync(fd, b, o, l, p);
      },
    };
    const lg = await open(h, ['-*', '+s*', '=st', '+*', './d'], { fs });
    lg.write(Buffer.from('a\ns1\nb\ns2\nc\n'));
    await lg.end();
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe('a\ns1\nb\ns2\nc\n');
    expect(readFileSync(join(h.base, 'st'), 'latin1').slice(0, 3)).toBe('s2\n');
    expect(h.stderr()).toBe('multilog: warning: unable to write st, pausing: input/output error\n'.repeat(2));
  });

  it('terminate() while paused on errors is deferred until the write succeeds', async () => {
    const h = harness();
    let fail = true;
    const fs: FsSeam = {
      ...realFs,
      writeSync: (fd, b, o, l, p) => {
        if (fail && p === null) throw Object.assign(new Error('x'), { code: 'ENOSPC' });
        return realFs.writeSync(fd, b, o, l, p);
      },
    };
    const lg = await open(h, ['./d'], { fs, pauseMs: 20 });
    lg.write(Buffer.from('kept\n'));
    let done = false;
    void lg.terminate().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 60));
    expect(done).toBe(false);
    fail = false;
    await lg.done;
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe('kept\n');
    expect(h.stderr().split('\n').filter(Boolean).every((l) => l === 'multilog: warning: unable to write to ./d/current, pausing: out of disk space')).toBe(true);
  });

  it('terminate() mid-line waits for the end of that line and no further', async () => {
    const h = harness();
    const lg = await open(h, ['./d']);
    lg.write(Buffer.from('done\npart'));
    void lg.terminate();
    await lg.idle();
    expect(lg.midLine).toBe(true);
    expect(lg.isFinished).toBe(false);
    lg.write(Buffer.from('ial'));
    await lg.idle();
    expect(lg.isFinished).toBe(false);
    lg.write(Buffer.from('\n'));
    await lg.done;
    expect(readFileSync(join(h.base, 'd/current'), 'latin1')).toBe('done\npartial\n');
    expect(mode(join(h.base, 'd/current'))).toBe(0o744);
  });
});

describe('output buffers released while input idles (the shared logger runs 1000 loggers)', () => {
  // Each chunk is fed after the previous one was processed; the logger under test has its output
  // buffers released after every chunk, the reference never; both see the same clock readings, so their
  // log directories must hold the same bytes.
  const chunks = [
    'one\ntw',
    'o\nthree\n',
    'x'.repeat(1500) + '\nshort\n', // a head longer than 1000 bytes: the general path
    'y'.repeat(40_000) + '\n', // longer than the 16 KiB buffer: it grows after being allocated again
    'abc\nde',
    'f\npartial last line',
  ];
  for (const args of [['./d'], ['t', './d'], ['t', './d', './e'], ['-*', '+t*', '+x*', '+y*', '+p*', './d', '-*', '+o*', './e']]) {
    it(`same bytes with and without releases: ${args.join(' ')}`, async () => {
      const ref = harness();
      const rel = harness();
      const lgRef = await open(ref, args);
      const lgRel = await open(rel, args);
      let released = 0;
      for (const c of chunks) {
        lgRef.write(Buffer.from(c));
        lgRel.write(Buffer.from(c));
        await lgRef.idle();
        await lgRel.idle();
        releaseIdleOutputsNow();
        if (lgRel.outputsReleased) released++;
      }
      expect(released).toBe(chunks.length);
      await lgRef.end();
      await lgRel.end();
      let total = 0;
      for (const d of args.filter((a) => a.startsWith('./'))) {
        const want = all(join(ref.base, d));
        total += want.length;
        expect(all(join(rel.base, d)).equals(want)).toBe(true);
      }
      expect(total).toBeGreaterThan(40_000);
    });
  }
});
