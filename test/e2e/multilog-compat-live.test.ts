// upkeep multilog vs Debian's multilog, live: signals (ALRM, TERM between lines and mid-line) and lock
// conflicts between the two programs. stdin is a FIFO written piece by piece; every step waits for an
// observable event (a line landing in `current`, an old file appearing, the signal handlers installed, the
// process asleep again with no signal pending, the lock held), never a fixed sleep.
import { closeSync, constants as FS, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { itWithPeer, waitFor } from '../helpers/index.js';
import {
  CANDIDATE,
  DEBIAN,
  type Impl,
  type Live,
  type Outcome,
  Scratch,
  compareOutcomes,
  liveOutcome,
  lockHeld,
  makeLines,
  nowMicros,
  parseLabel,
  oldFiles,
  rotationProblems,
  runOnce,
  startLive,
  waitContent,
  waitSettled,
} from '../helpers/multilog-compare.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const peer = itWithPeer(['multilog']);

const SIGALRM_BIT = 1n << 13n; // signal 14
const SIGTERM_BIT = 1n << 14n; // signal 15

/** Started, holding its logdir lock, catching TERM and ALRM, and asleep waiting for input. */
async function ready(l: Live, lockfile?: string): Promise<void> {
  await waitFor(() => {
    try {
      const st = readFileSync(`/proc/${l.pid}/status`, 'latin1');
      const cgt = BigInt('0x' + (/SigCgt:\s*([0-9a-f]+)/.exec(st)?.[1] ?? '0'));
      return (cgt & SIGALRM_BIT) !== 0n && (cgt & SIGTERM_BIT) !== 0n;
    } catch {
      return false;
    }
  }, `${l.impl.name} to catch TERM and ALRM`);
  if (lockfile) await waitFor(() => lockHeld(join(l.w, lockfile)), `${l.impl.name} to lock ${lockfile}`);
  await waitSettled(l.pid, `${l.impl.name} to wait for input`);
}

/** Bytes in d/current and d's old files (0 while a rotation is renaming them). */
const logged = (w: string): number => {
  try {
    return readdirSync(join(w, 'd'))
      .filter((n) => n.startsWith('@') || n === 'current')
      .reduce((t, n) => t + statSync(join(w, 'd', n)).size, 0);
  } catch {
    return 0;
  }
};
const olds = (w: string, dir: string): string[] => readdirSync(join(w, dir)).filter((n) => n.startsWith('@')).sort();
/** A file's bytes as latin1 text ('' when it is missing, e.g. renamed away by a rotation). */
const file = (w: string, rel: string): string => {
  try {
    return readFileSync(join(w, rel)).toString('latin1');
  } catch {
    return '';
  }
};

async function live(
  impl: Impl,
  args: string[],
  body: (l: Live) => Promise<Record<string, unknown>>,
  setup?: (w: string) => void,
  prelude?: string,
): Promise<[Outcome, Record<string, unknown>]> {
  const w = join(scratch.dir(`${impl.name}-live`), 'w');
  mkdirSync(w);
  setup?.(w);
  const l = startLive(impl, w, args, { prelude });
  try {
    const obs = await body(l);
    const res = await l.exited;
    return [liveOutcome(l, res), obs];
  } finally {
    l.done();
  }
}

describe('multilog vs Debian: signals', () => {
  peer.concurrent('SIGALRM rotates non-empty currents now (through the processor); empty ones are left alone; a partial line is not split', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['./d', '!tr a-z A-Z', './p', '-*', './empty'], async (l) => {
        const w = l.w;
        await ready(l, 'd/lock');
        l.child.kill('SIGALRM'); // everything empty: nothing happens
        await waitSettled(l.pid);
        const afterEmptyAlrm = [olds(w, 'd'), olds(w, 'p'), olds(w, 'empty')];
        l.write('a\nb\n');
        await waitContent(join(w, 'd/current'), 'a\nb\n');
        await waitContent(join(w, 'p/current'), 'a\nb\n');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGALRM');
        await waitFor(
          () => olds(w, 'd').length === 1 && olds(w, 'p').length === 1 && !existsSync(join(w, 'p/processed')) && !existsSync(join(w, 'p/previous')),
          'first rotation, processor done',
        );
        await waitContent(join(w, 'd/current'), '');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGALRM'); // current now empty again: left alone
        await waitSettled(l.pid);
        const afterSecond = [olds(w, 'd').length, olds(w, 'p').length];
        l.write('c\npart');
        await waitContent(join(w, 'd/current'), 'c\n');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGALRM');
        await waitFor(() => olds(w, 'd').length === 2 && olds(w, 'p').length === 2, 'second rotation');
        l.write('ial\n');
        await waitContent(join(w, 'd/current'), 'partial\n');
        l.closeInput();
        return { afterEmptyAlrm, afterSecond, alive: true };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
    expect(dobs.afterSecond).toEqual([1, 1]);
  });

  peer.concurrent('SIGALRM inside a line longer than 1000 bytes: the bytes already streamed are rotated', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['./d'], async (l) => {
        await ready(l, 'd/lock');
        l.write('first\n' + 'x'.repeat(1500));
        await waitContent(join(l.w, 'd/current'), 'first\n' + 'x'.repeat(1500));
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGALRM');
        await waitFor(() => olds(l.w, 'd').length === 1, 'rotation');
        l.write('yyy\nlast\n');
        await waitContent(join(l.w, 'd/current'), 'yyy\nlast\n');
        l.closeInput();
        return {};
      });
    const [[deb], [cand]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('lines arriving one at a time (input idle between them): each lands at once; files obey the rule', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['s4096', 'n99', './d'], async (l) => {
        await ready(l, 'd/lock');
        for (let i = 0; i < 45; i++) {
          l.write(`line ${String(i).padStart(3, '0')} `.padEnd(99, '.') + '\n');
          await waitFor(() => logged(l.w) === (i + 1) * 100, `line ${i} to land`);
        }
        l.closeInput();
        return {};
      });
    const [[deb], [cand]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(compareOutcomes(deb, cand, { rotated: ['./d'] })).toEqual([]);
    for (const o of [deb, cand]) expect(rotationProblems(o.entries, './d', 4096), o.impl.name).toEqual([]);
    expect(oldFiles(deb.entries, './d').map((e) => e.data.length)).toEqual([2100, 2100]); // reference 2.7
  });

  peer.concurrent('SIGALRM rotates a reopened non-empty current before any input; a reopened empty one is left alone', async () => {
    const scenario = (impl: Impl) => {
      const setup = (w: string): void => {
        mkdirSync(join(w, 'd'));
        writeFileSync(join(w, 'd/current'), 'from last run\n', { mode: 0o744 });
        mkdirSync(join(w, 'e'));
        writeFileSync(join(w, 'e/current'), '', { mode: 0o744 });
      };
      return live(
        impl,
        ['./d', './e'],
        async (l) => {
          await ready(l, 'e/lock');
          l.child.kill('SIGALRM');
          await waitFor(() => olds(l.w, 'd').length === 1, 'rotation of d');
          await waitSettled(l.pid);
          l.write('new\n');
          await waitContent(join(l.w, 'e/current'), 'new\n');
          l.closeInput();
          return { e: olds(l.w, 'e').length };
        },
        setup,
      );
    };
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(dobs).toEqual({ e: 0 });
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('with t, a line is stamped when its first byte arrives, not when its newline does', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['t', './d'], async (l) => {
        await ready(l, 'd/lock');
        const t1 = nowMicros();
        l.write('par');
        await waitSettled(l.pid); // the first bytes have been read
        const t2 = nowMicros() - 1000n; // ms clock: stay a whole ms on the safe side
        l.write('tial\n');
        await waitFor(() => /^@[0-9a-f]{24} partial\n$/.test(file(l.w, 'd/current')), 'the line');
        l.closeInput();
        const { micros } = parseLabel(file(l.w, 'd/current').slice(0, 25));
        return { stampedEarly: micros >= t1 && micros < t2 };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(dobs).toEqual({ stampedEarly: true });
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('SIGTERM between lines: exits 0 at once, current closed cleanly, later input left in the pipe', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['t', './d', 'e'], async (l) => {
        await ready(l, 'd/lock');
        l.write('a\nb\n');
        await waitFor(() => /^@[0-9a-f]{24} a\n@[0-9a-f]{24} b\n$/.test(file(l.w, 'd/current')), 'two lines in current');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGTERM');
        const res = await l.exited; // without EOF on stdin
        l.write('after term\n');
        const left = (await l.leftover()).toString('latin1');
        return { res, left };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(cobs).toEqual(dobs);
    expect(dobs.left).toBe('after term\n');
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('SIGTERM mid-line: finishes the line when the rest arrives, leaves the following input unread for a second reader', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['./d', 'e', '=st'], async (l) => {
        await ready(l, 'd/lock');
        l.write('a\npart');
        await waitContent(join(l.w, 'd/current'), 'a\n');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGTERM');
        await waitSettled(l.pid);
        const aliveAfterTerm = l.child.exitCode === null && l.child.signalCode === null;
        l.write('ial rest\nnext line\nand more\n');
        const res = await l.exited;
        const left = (await l.leftover()).toString('latin1');
        return { aliveAfterTerm, res, left };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(dobs).toEqual({ aliveAfterTerm: true, res: { code: 0, signal: null }, left: 'next line\nand more\n' });
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('SIGTERM while the processor runs: the processor completes, multilog exits 0, no input is lost', async () => {
    // Debian blocks TERM while the processor runs; once it is done the pending TERM is taken just before
    // the next read() starts, so Debian only notices it after one more piece of input (a race in multilog
    // itself). Either way nothing may be lost: the line written afterwards is logged or left in the pipe.
    const proc = '!: > ../running; while [ ! -e ../go ]; do sleep 0.02; done; echo processed; cat; echo st >&5';
    const scenario = (impl: Impl) =>
      live(impl, ['s4096', proc, './d'], async (l) => {
        await ready(l, 'd/lock');
        l.write(makeLines(2, () => 2047)); // exactly s: rotation, processor blocks on ../go
        await waitFor(() => existsSync(join(l.w, 'running')), 'the processor to start');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGTERM');
        writeFileSync(join(l.w, 'go'), '');
        await waitFor(() => olds(l.w, 'd').length === 1 && !existsSync(join(l.w, 'd/previous')), 'the processed file');
        l.write('after\n');
        l.closeInput();
        const res = await l.exited;
        const left = (await l.leftover()).toString('latin1');
        return { res, afterKept: file(l.w, 'd/current') + left };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(dobs).toEqual({ res: { code: 0, signal: null }, afterKept: 'after\n' });
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand, { ignore: (n) => n === 'd/current' })).toEqual([]);
    expect(cand.entries.find((e) => e.name === 'd/current')?.mode).toBe(0o744);
  });

  peer.concurrent('while the processor runs, input is not read: the pipe fills and blocks the writer', async () => {
    const proc = '!: > ../running; while [ ! -e ../go ]; do sleep 0.02; done; cat';
    const scenario = (impl: Impl) =>
      live(impl, ['s4096', 'n999', proc, './d'], async (l) => {
        await ready(l, 'd/lock');
        l.write(makeLines(2, () => 2047)); // exactly s: rotation, the processor blocks on ../go
        await waitFor(() => existsSync(join(l.w, 'running')), 'the processor to start');
        // Fill the FIFO without blocking: count what gets in before EAGAIN (stop at 4 MiB).
        const nb = openSync(join(l.w, '..', 'stdin.fifo'), FS.O_WRONLY | FS.O_NONBLOCK);
        const chunk = Buffer.from('z'.repeat(1023) + '\n');
        let accepted = 0;
        try {
          while (accepted < 4 << 20) accepted += writeSync(nb, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        } finally {
          closeSync(nb);
        }
        writeFileSync(join(l.w, 'go'), '');
        await waitFor(() => logged(l.w) === 4096 + accepted, 'the backlog to be logged');
        l.closeInput();
        return { blocked: accepted < 256 * 1024 };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(dobs).toEqual({ blocked: true });
    expect(cobs).toEqual(dobs);
    // How much got into the pipe differs a little (each program's last read before it stopped), so the logs
    // differ by that much; that all of it was logged was waited for above.
    expect(compareOutcomes(deb, cand, { ignore: (n) => n.startsWith('d/@') || n === 'd/current' })).toEqual([]);
  });

  peer.concurrent('SIGTERM before any input: exits 0, empty current closed cleanly', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['./d'], async (l) => {
        await ready(l, 'd/lock');
        l.child.kill('SIGTERM');
        const res = await l.exited;
        return { res };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('SIGTERM after a partial line then EOF: the line gets its newline', async () => {
    const scenario = (impl: Impl) =>
      live(impl, ['./d'], async (l) => {
        await ready(l, 'd/lock');
        l.write('x\npartial');
        await waitContent(join(l.w, 'd/current'), 'x\n');
        await waitSettled(l.pid); // asleep in read(): Debian acts on signals only there
        l.child.kill('SIGTERM');
        await waitSettled(l.pid);
        l.closeInput();
        return { res: await l.exited };
      });
    const [[deb, dobs], [cand, cobs]] = await Promise.all([scenario(DEBIAN), scenario(CANDIDATE)]);
    expect(cobs).toEqual(dobs);
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });
});

describe('multilog vs Debian: other signals', () => {
  /**
   * Sends `sig` once a first line has landed. When the program is expected to die (`probe` false), the test
   * waits for its death; otherwise it then writes a second line, which a survivor logs. Both are observable
   * events; no fixed wait. (A Node program acts on a signal from its event loop, so a probe line written at
   * once may be logged just before it dies, where a C program dies at delivery: the probe would race.)
   */
  const hit = (impl: Impl, sig: NodeJS.Signals, prelude?: string, probe = true) =>
    live(
      impl,
      ['./d'],
      async (l) => {
        await ready(l, 'd/lock');
        l.write('a\n');
        await waitContent(join(l.w, 'd/current'), 'a\n');
        await waitSettled(l.pid);
        l.child.kill(sig);
        if (probe) l.write('b\n');
        const dead = (): boolean => l.child.exitCode !== null || l.child.signalCode !== null;
        await waitFor(() => dead() || file(l.w, 'd/current') === 'a\nb\n', `${impl.name} to die of ${sig} or log on`);
        const fate = dead() ? `died (${l.child.signalCode ?? l.child.exitCode})` : 'survived';
        if (!dead()) l.closeInput();
        return { fate };
      },
      undefined,
      prelude,
    );
  // multilog catches only TERM and ALRM: every other signal keeps the disposition it inherited. (QUIT is left
  // out: its core dump would land in the log directory.)
  for (const sig of ['SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2'] as const)
    peer.concurrent(`${sig} takes its default action: the program dies, current is left unclean`, async () => {
      const [[deb, dobs], [cand, cobs]] = await Promise.all([hit(DEBIAN, sig, undefined, false), hit(CANDIDATE, sig, undefined, false)]);
      expect(dobs).toEqual({ fate: `died (${sig})` });
      expect(cobs).toEqual(dobs);
      expect(compareOutcomes(deb, cand)).toEqual([]);
    });
  // A deliberate difference (upkeep(8), RUNTIME): SIGPIPE is ignored, so that a broken stderr (a dead reader
  // of `e` lines) never kills a logger; multilog dies of it. upkeep logs on.
  peer.concurrent('SIGPIPE: Debian dies of it; upkeep, by design, logs on', async () => {
    const [[, dobs], [, cobs]] = await Promise.all([hit(DEBIAN, 'SIGPIPE'), hit(CANDIDATE, 'SIGPIPE')]);
    expect(dobs).toEqual({ fate: 'died (SIGPIPE)' });
    expect(cobs).toEqual(process.env.MULTILOG_CANDIDATE === 'debian' ? dobs : { fate: 'survived' });
  });
  for (const sig of ['SIGHUP', 'SIGINT', 'SIGUSR2'] as const)
    peer.concurrent(`${sig} ignored by the parent (nohup, a background job) stays ignored`, async () => {
      const prelude = "trap '' HUP INT USR2;";
      const [[deb, dobs], [cand, cobs]] = await Promise.all([hit(DEBIAN, sig, prelude), hit(CANDIDATE, sig, prelude)]);
      expect(dobs).toEqual({ fate: 'survived' });
      expect(cobs).toEqual(dobs);
      expect(compareOutcomes(deb, cand)).toEqual([]);
    });
});

describe('multilog vs Debian: lock conflicts', () => {
  /** `holder` runs on ./d; `contender` then tries ./d and must fail; the holder finishes normally. */
  async function conflict(holder: Impl, contender: Impl): Promise<Outcome> {
    const [o, obs] = await live(holder, ['./d'], async (l) => {
      await ready(l, 'd/lock');
      const r = await runOnce(contender, l.w, { args: ['./d'], input: 'contender\n' });
      l.write('holder\n');
      await waitContent(join(l.w, 'd/current'), 'holder\n');
      l.closeInput();
      return { r };
    });
    // The outcome carries the holder's exit code, then the contender's; stderr is the contender's.
    const r = obs.r as { code: number | null; stderr: Buffer };
    return { ...o, codes: [...o.codes, r.code], stderr: Buffer.concat([o.stderr, r.stderr]) };
  }
  peer.concurrent('Debian holds the lock, the candidate is refused (and vice versa), exactly as Debian refuses Debian', async () => {
    const [ref, debHolds, candHolds] = await Promise.all([conflict(DEBIAN, DEBIAN), conflict(DEBIAN, CANDIDATE), conflict(CANDIDATE, DEBIAN)]);
    expect(ref.codes).toEqual([0, 111]);
    expect(ref.stderr.toString()).toBe('multilog: fatal: unable to lock directory ./d: temporary failure\n');
    expect(compareOutcomes(ref, debHolds), 'Debian holds, candidate contends').toEqual([]);
    expect(compareOutcomes(ref, candHolds), 'candidate holds, Debian contends').toEqual([]);
  });
});
