// upkeep multilog vs Debian's multilog, side by side: script actions, line handling, patterns, `e`, `=`,
// fatal start-up errors. Each case runs both programs in two separate trees with the same input (a regular
// file, or a pipe written fully then closed), umask, TZ and environment; the trees, stderr and exit codes must
// match byte for byte once TAI64N labels are masked. MULTILOG_CANDIDATE=debian runs Debian against itself
// (validates the masking: every case must pass then); MULTILOG_UPKEEP=/path/bin/upkeep runs a private build.
//
// The matrix is spread over five files: this one (actions, line handling, patterns, =, stderr, fatal errors),
// -rotation (s, n, processors, reopening current), -recovery (every start-up crash layout), -live (ALRM, TERM,
// lock conflicts between the two programs) and -fuzz (seeded random scripts, inputs and rotations).
//
// Not tested here (each needs a 5 s pause or a special filesystem; checked by hand where noted):
// - write errors after start-up ("unable to write to DIR/current, pausing: out of disk space", retried every
//   5 s): needs a tiny filesystem (a tmpfs mount, root). By hand on a 64 KiB tmpfs both pause, warn and
//   recover without loss, also with stderr on the full filesystem (see the /dev/full cases below).
// - a processor killed by a signal: Debian warns twice ("processor crashed in DIR, pausing: <stale errno>",
//   then "processor failed in DIR, pausing") and pauses 10 s; by hand upkeep does the same. A processor
//   that cannot start (no `state`) is retried forever; an @ name collision pauses 5 s.
// - SIGTERM/SIGALRM while paused on a write error (Debian blocks them until the write succeeds).
// - stderr on a broken pipe (Debian dies of SIGPIPE), descriptors above 2 inherited from multilog's parent
//   (Debian passes them on to processors), stdin opened O_NONBLOCK by the parent (Debian treats EAGAIN as EOF).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { itWithPeer } from '../helpers/index.js';
import {
  type Case,
  type CompareOptions,
  type Outcome,
  Scratch,
  compareOutcomes,
  lineLabels,
  CANDIDATE,
  DEBIAN,
  type Impl,
  logStream,
  rotationProblems,
  runBoth,
  runCase,
  stampProblems,
  writeFile,
} from '../helpers/multilog-compare.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const peer = itWithPeer(['multilog']);

/** Runs a case on both, asserts equality; with `stamped` also checks every label of the candidate is sane. */
async function same(c: Case, tag: string, opts: CompareOptions & { stamped?: string[] } = {}): Promise<[Outcome, Outcome]> {
  const [deb, cand] = await runBoth(scratch, c, tag);
  expect(compareOutcomes(deb, cand, opts), `${tag}: ${JSON.stringify(c.args)}`).toEqual([]);
  for (const o of [deb, cand])
    for (const f of opts.stamped ?? []) {
      const e = o.entries.find((x) => x.name === f);
      const data = e ? e.data : f === '<stderr>' ? o.stderr : f.startsWith('./') ? logStream(o.entries, f) : Buffer.alloc(0);
      const labels = lineLabels(data);
      expect(labels.length, `${o.impl.name} ${f} has labels`).toBeGreaterThan(0);
      expect(stampProblems(labels, o.t0, o.t1), `${o.impl.name} ${f} stamps`).toEqual([]);
    }
  return [deb, cand];
}

const TEXT = 'one\ntwo\n\nthree\n';

describe('multilog vs Debian: script actions', () => {
  const cases: [string, Case, CompareOptions & { stamped?: string[] }][] = [
    ['plain logdir', { args: ['./d'], input: TEXT }, {}],
    ['t stamps every line', { args: ['t', './d'], input: TEXT }, { stamped: ['./d'] }],
    ['tfoo enables t', { args: ['tfoo', './d'], input: TEXT }, { stamped: ['./d'] }],
    ['t not first is ignored', { args: ['e', 't', './d'], input: TEXT }, {}],
    ['t t: only the first counts', { args: ['t', 't', './d', 't'], input: TEXT }, { stamped: ['./d'] }],
    ['no arguments at all', { args: [], input: TEXT }, {}],
    ['no logdir: e only', { args: ['e'], input: TEXT }, {}],
    ['no logdir: t e', { args: ['t', 'e'], input: TEXT }, { stamped: ['<stderr>'] }],
    ['no logdir: =file only', { args: ['=st'], input: TEXT }, {}],
    ['empty input', { args: ['./d'], input: '' }, {}],
    ['empty input with t, e, =', { args: ['t', 'e', '=st', './d'], input: '' }, {}],
    ['empty input, pipe', { args: ['./d'], input: '', feed: 'pipe' }, {}],
    ['pipe input', { args: ['t', 'e', './d'], input: TEXT, feed: 'pipe' }, { stamped: ['./d', '<stderr>'] }],
    ['several logdirs with selections', { args: ['./a', '-x*', './b', '+x*', '-xy*', './c'], input: 'a\nx1\nxy2\nb\n' }, {}],
    ['absolute logdir', { args: ['{W}/abs', './rel'], input: TEXT }, {}],
    ['logdir path with subdirectory', { args: ['./sub/d'], input: TEXT, setup: (w) => mkdirSync(join(w, 'sub')) }, {}],
    ['logdir already exists, empty', { args: ['./d'], input: TEXT, setup: (w) => mkdirSync(join(w, 'd'), 0o755) }, {}],
    ['logdir with a trailing slash', { args: ['./d/'], input: TEXT }, {}],
    ['logdir .hidden (any argument starting with .)', { args: ['.hidden', './d'], input: TEXT }, {}],
    ['logdir . (the working directory itself)', { args: ['.'], input: TEXT, setup: (w) => writeFileSync(join(w, 'other'), 'x\n') }, {}],
    [
      'pre-existing lock file keeps its mode and content',
      {
        args: ['./d'],
        input: TEXT,
        setup: (w) => {
          mkdirSync(join(w, 'd'));
          writeFile(w, 'd/lock', 'junk\n', 0o644);
        },
      },
      {},
    ],
    [
      'logdir is a symlink to a directory',
      {
        args: ['./link'],
        input: TEXT,
        setup: (w) => {
          mkdirSync(join(w, 'real'));
          symlinkSync('real', join(w, 'link'));
        },
      },
      {},
    ],
    ['the same =file twice', { args: ['=st', '-b*', '=st'], input: 'a\nb\n' }, {}],
    [
      'unknown actions ignored',
      {
        args: ['T', 'q', 'xyz', '--help', '', 'h', '-V', 'E', 'S4096', 'N1', '@x', '~', '1', 'help', 'v', './d'],
        input: 'keep\n-help\nV\nh\nx\nhelp\n',
      },
      {},
    ],
    ['-* as a pattern deselects all', { args: ['-*', 'e', './d', '=st'], input: TEXT }, {}],
    ['selection state per action (reference 2.2)', { args: ['-*', '+a*', 'e', '+b*', './d', '-a*', '=st'], input: 'a1\nb1\nc1\n' }, {}],
    ['selection state, logdirs interleaved', { args: ['./all', '-*', './none', '+a*', './a', '+b*', './ab', '-a*', './b'], input: 'a1\nb1\nc1\na2\n' }, {}],
    ['umask 077 is overridden', { args: ['./d', '=st'], input: TEXT, umask: '077' }, {}],
    ['umask 000 is overridden', { args: ['./d', '=st'], input: TEXT, umask: '000' }, {}],
    ['environment and TZ do not matter', { args: ['t', './d'], input: TEXT, env: { TZ: 'Asia/Tokyo', LANG: 'C.UTF-8' } }, { stamped: ['./d'] }],
  ];
  for (const [name, c, opts] of cases) peer.concurrent(name, async () => void (await same(c, name, opts)));
});

describe('multilog vs Debian: line handling', () => {
  const long = (n: number, ch = 'x'): string => ch.repeat(n);
  const cases: [string, Case, CompareOptions & { stamped?: string[] }][] = [
    ['empty lines', { args: ['./d'], input: '\n\n\n' }, {}],
    ['empty lines with t (trailing space)', { args: ['t', 'e', './d'], input: '\n\nx\n\n' }, { stamped: ['./d'] }],
    ['final line without newline gets one', { args: ['e', '=st', './d'], input: 'a\nno newline' }, {}],
    ['final line without newline, t', { args: ['t', './d'], input: 'a\nno newline' }, { stamped: ['./d'] }],
    ['only a partial line', { args: ['./d'], input: 'x' }, {}],
    ['NUL, invalid UTF-8, CR pass through', { args: ['e', '=st', './d'], input: Buffer.from('a\0b\r\n\xff\xfe\xc3\x28\n\r\n\x1b[31mred\n\0\n', 'latin1') }, {}],
    ['NUL, invalid UTF-8, CR with t', { args: ['t', 'e', '=st', './d'], input: Buffer.from('a\0b\r\n\xff\xfe\xc3\x28\n\r\n', 'latin1') }, { stamped: ['./d'] }],
    ...[199, 200, 201, 999, 1000, 1001, 1500, 100000].map(
      (n): [string, Case, CompareOptions & { stamped?: string[] }] => [
        `line of ${n} bytes (e, =, logdir)`,
        { args: ['e', '=st', './d'], input: `short\n${long(n - 5)}tail!\nafter\n` },
        {},
      ],
    ),
    ...[973, 974, 975, 1500].map(
      (n): [string, Case, CompareOptions & { stamped?: string[] }] => [
        `line of ${n} bytes with t (e, =, logdir)`,
        { args: ['t', 'e', '=st', './d'], input: `short\n${long(n - 5)}tail!\nafter\n` },
        { stamped: ['./d'] },
      ],
    ),
    ['long final line without newline', { args: ['e', '=st', './d'], input: long(1700) }, {}],
    ['exactly 1000 bytes then EOF', { args: ['e', './d'], input: long(1000) }, {}],
    ['stdin closed: end of input at once', { args: ['e', './d'], input: 'ignored\n', redirect: '<&-' }, {}],
    ['stdin a directory (read error): end of input', { args: ['e', './d'], input: 'ignored\n', redirect: '</' }, {}],
    ['stdin write-only (read error): end of input', { args: ['e', './d'], input: 'ignored\n', redirect: '0>>../wo' }, {}],
    ['long lines through a pipe', { args: ['./d'], input: `${long(5000)}\n${long(1000)}\n${long(70000)}\nend`, feed: 'pipe' }, {}],
  ];
  for (const [name, c, opts] of cases) peer.concurrent(name, async () => void (await same(c, name, opts)));
});

describe('multilog vs Debian: patterns', () => {
  const LINES = [
    '', 'a', 'b', 'ab', 'axb', 'abxb', 'aXXb', 'a*b', '*', '**lit', '*lit', 'x*lit', 'lit', 'tcpsvd: info: pid 1977',
    'pid 5', 'xpid', '\\x', '\\', 'abc*def', 'foo', 'foo bar', ' foo', '-help', 'a1', 'b1',
  ].join('\n') + '\n';
  const patterns = ['a*b', '*pid*', 'pid*', '**lit', '', '\\*', '*', 'a**', '*b', '*a*b', 'a*', '*lit', 'foo*', '* foo*', 'x*lit', 'a*b*'];
  for (const p of patterns)
    peer.concurrent(`+${JSON.stringify(p)} after -*`, async () => {
      await same({ args: ['-*', `+${p}`, 'e', './d'], input: LINES }, `pat-${p}`);
    });
  for (const p of ['', 'a*', '*b', '*']) // `-` with an empty pattern only drops empty lines
    peer.concurrent(`-${JSON.stringify(p)} alone`, async () => {
      await same({ args: [`-${p}`, 'e', './d'], input: LINES }, `neg-${p}`);
    });
  peer.concurrent('with t, patterns see the timestamp: -* +foo* logs nothing', async () => {
    await same({ args: ['t', '-*', '+foo*', 'e', './d'], input: LINES }, 't-foo');
  });
  peer.concurrent('with t: +@* foo* selects foo lines', async () => {
    await same({ args: ['t', '-*', '+@* foo*', 'e', './d'], input: LINES }, 't-at-foo', { stamped: ['./d', '<stderr>'] });
  });
  peer.concurrent('only the first 1000 bytes are matched', async () => {
    const input = [
      'a'.repeat(999) + 'b' + 'c'.repeat(100), // *b matches inside the 1000-byte buffer
      'a'.repeat(1000) + 'b', // b at byte 1001: no match
      'a'.repeat(998) + 'bb', // ends within 1000
      'q'.repeat(1200) + 'c', // -*c cannot see the c
    ].join('\n') + '\n';
    await same({ args: ['-*', '+*b', './sel', '-*c', './notc', '+*', '-a*', './nota'], input }, 'first1000');
  });
  peer.concurrent('only the first 1000 bytes are matched, with t', async () => {
    const input = ['a'.repeat(973) + 'b' + 'c'.repeat(10), 'a'.repeat(974) + 'b'].join('\n') + '\n';
    await same({ args: ['t', '-*', '+*b', './sel'], input }, 'first1000t');
  });
});

describe('multilog vs Debian: = status files', () => {
  peer.concurrent('= writes 1001 bytes padded with newlines, mode 0600', async () => {
    const [deb] = await same({ args: ['=st', '=sub/st2', './d'], input: 'first\nsecond line\n', setup: (w) => mkdirSync(join(w, 'sub')) }, 'eq-basic');
    const st = deb.entries.find((e) => e.name === 'st')!;
    expect([st.data.length, st.mode]).toEqual([1001, 0o600]); // the harness reads the reference right
  });
  peer.concurrent('= does not truncate a longer pre-existing file, keeps its mode', async () => {
    await same(
      {
        args: ['=st', '=st644'],
        input: 'x\n',
        setup: (w) => {
          writeFile(w, 'st', 'Z'.repeat(3000), 0o600);
          writeFile(w, 'st644', 'Y'.repeat(1500), 0o644);
        },
      },
      'eq-long',
    );
  });
  peer.concurrent('= with t (label in the status file), last selected line wins', async () => {
    await same({ args: ['t', '=all', '-b*', '=notb'], input: 'a\nb\nc\nb2\n' }, 'eq-t', { stamped: ['all', 'notb'] });
  });
  peer.concurrent('= never written when nothing selected: file created empty', async () => {
    await same({ args: ['-*', '=st'], input: 'a\n' }, 'eq-none');
  });
  peer.concurrent('= is relative to the starting directory, not the logdir', async () => {
    await same({ args: ['./d', '=st', './e', '=d/st'], input: 'a\n' }, 'eq-rel');
  });
});

describe('multilog vs Debian: under daemontools softlimit', () => {
  // Run scripts chain-load resource limits (`exec softlimit -m 3000000 multilog t ./main`); multilog runs in
  // a few hundred KB. These limits must not stop the logger.
  const peerSoft = itWithPeer(['multilog', 'softlimit']);
  for (const wrap of [
    ['softlimit', '-m', '3000000'],
    ['softlimit', '-d', '50000000'],
    ['softlimit', '-a', '500000000'],
  ])
    peerSoft.concurrent(`${wrap.join(' ')} multilog t e ./d`, async () => {
      const [deb] = await same({ args: ['t', 'e', './d'], input: TEXT, wrap }, wrap.join(''), { stamped: ['./d'] });
      expect(deb.codes).toEqual([0]);
    });
});

describe('multilog vs Debian: stderr that cannot be written', () => {
  // multilog ignores failed writes to stderr (djb's strerr/buffer_2): `e` lines and warnings are lost, the
  // log is not, and a fatal error still exits 111.
  peer.concurrent('stderr is /dev/full: e output is dropped, logging goes on, clean exit 0', async () => {
    const [deb] = await same({ args: ['e', './d', '=st'], input: 'a\nb\n' + 'x'.repeat(300) + '\nlast\n', stderrTo: '/dev/full' }, 'full-e');
    expect(deb.codes).toEqual([0]);
  });
  peer.concurrent('stderr is /dev/full: a fatal start-up error still exits 111', async () => {
    const [deb] = await same({ args: ['./missing/x'], input: 'a\n', stderrTo: '/dev/full' }, 'full-fatal');
    expect(deb.codes).toEqual([111]);
  });
});

describe('multilog vs Debian: fatal start-up errors', () => {
  const cases: [string, Case][] = [
    ['logdir whose parent is missing', { args: ['./missing/sub'], input: 'a\n' }],
    ['absolute logdir whose parent is missing', { args: ['/nonexistent-upkeep-dir/x'], input: 'a\n' }],
    ['logdir is a regular file', { args: ['./afile'], input: 'a\n', setup: (w) => writeFileSync(join(w, 'afile'), 'data\n') }],
    ['= file in a missing directory', { args: ['=nodir/st', './d'], input: 'a\n' }],
    ['= with an empty file name', { args: ['=', './d'], input: 'a\n' }],
    ['logdir name too long', { args: ['./' + 'x'.repeat(300)], input: 'a\n' }],
    ['logdir is a symlink loop', { args: ['./loop'], input: 'a\n', setup: (w) => symlinkSync('loop', join(w, 'loop')) }],
    ['logdir below a regular file', { args: ['./afile/x'], input: 'a\n', setup: (w) => writeFileSync(join(w, 'afile'), 'data\n') }],
    ['= file is a directory', { args: ['=adir', './d'], input: 'a\n', setup: (w) => mkdirSync(join(w, 'adir')) }],
    ['= files are opened before any logdir', { args: ['./missing/sub', '=nodir/st'], input: 'a\n' }],
    ['a good logdir before a bad one is set up, then fatal', { args: ['./ok', './missing/x'], input: 'a\n' }],
    ['two logdirs naming the same directory', { args: ['./dup', './dup'], input: 'a\n' }],
    ['the same directory spelled differently', { args: ['./dup', './sub/../dup'], input: 'a\n', setup: (w) => mkdirSync(join(w, 'sub')) }],
    ['the same directory, relative and absolute', { args: ['./dup', '{W}/dup'], input: 'a\n' }],
    ['lock is a directory', { args: ['./d'], input: 'a\n', setup: (w) => mkdirSync(join(w, 'd/lock'), { recursive: true }) }],
    ['state is a directory (fresh start)', { args: ['./d'], input: 'a\n', setup: (w) => mkdirSync(join(w, 'd/state'), { recursive: true }) }],
    [
      'current is a directory with u+x',
      { args: ['./d'], input: 'a\n', setup: (w) => mkdirSync(join(w, 'd/current'), { recursive: true, mode: 0o755 }) },
    ],
  ];
  for (const [name, c] of cases)
    peer.concurrent(name, async () => {
      const [deb] = await same(c, name);
      expect(deb.codes[0]).toBe(111);
    });
});

describe('multilog vs Debian: upkeep run through a link named multilog', () => {
  // How a daemontools user swaps it in: `multilog` on PATH is a link to upkeep; run scripts stay unchanged.
  const viaLink = (): Impl => {
    const dir = scratch.dir('link');
    const target = CANDIDATE.argv[0]!; // bin/upkeep (or /usr/bin/multilog when validating the harness)
    symlinkSync(target, join(dir, 'multilog'));
    return { name: `${CANDIDATE.name}-link`, argv: [join(dir, 'multilog')] };
  };
  for (const [name, c] of [
    ['logging with t, e, =, logdir', { args: ['t', 'e', '=st', './d'], input: TEXT }],
    ['fatal message names multilog', { args: ['./missing/x'], input: TEXT }],
    ['--help is a pattern, not an option', { args: ['--help', './d'], input: '-help\nother\n' }],
  ] as [string, Case][])
    peer.concurrent(name, async () => {
      const [deb, cand] = await Promise.all([runCase(DEBIAN, scratch, c, 'l-deb'), runCase(viaLink(), scratch, c, 'l-cand')]);
      expect(compareOutcomes(deb, cand)).toEqual([]);
    });
});

describe('the comparison harness itself', () => {
  peer.concurrent('two Debian runs with t differ in raw labels but compare equal masked; any other change is caught', async () => {
    const c: Case = { args: ['t', 'e', '=st', './d'], input: 'one\ntwo\n' };
    const [a, b] = await Promise.all([runCase(DEBIAN, scratch, c, 'self1'), runCase(DEBIAN, scratch, c, 'self2')]);
    const cur = (o: Outcome): Buffer => o.entries.find((e) => e.name === 'd/current')!.data;
    expect(cur(a).equals(cur(b))).toBe(false); // the labels really differ (different runs)
    expect(compareOutcomes(a, b)).toEqual([]);
    const mutate = (f: (o: Outcome) => void): Outcome => {
      const o: Outcome = { ...b, codes: [...b.codes], entries: b.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })) };
      f(o);
      return o;
    };
    const curOf = (o: Outcome) => o.entries.find((e) => e.name === 'd/current')!;
    expect(compareOutcomes(a, mutate((o) => void (curOf(o).data[curOf(o).data.length - 2] = 0x41)))).toHaveLength(1);
    expect(compareOutcomes(a, mutate((o) => void (curOf(o).mode = 0o644)))).toHaveLength(1);
    expect(compareOutcomes(a, mutate((o) => void (o.codes[0] = 111)))).toHaveLength(1);
    expect(compareOutcomes(a, mutate((o) => void (o.stderr = Buffer.from('x'))))).toHaveLength(1);
    expect(compareOutcomes(a, mutate((o) => o.entries.push({ name: 'd/@400000006b02c12e10a72d0c.u', kind: 'file', mode: 0o644, data: Buffer.alloc(0) })))).not.toEqual([]);
    // a label that is not at a line start is not masked
    expect(compareOutcomes(a, mutate((o) => void (curOf(o).data = Buffer.concat([curOf(o).data.subarray(0, 26), Buffer.from('@400000006b02c12e10a72d0c '), curOf(o).data.subarray(26)]))))).not.toEqual([]);
  });
  peer.concurrent('stamp and rotation checkers reject bad files', () => {
    const t0 = 1795342628_000000n;
    const ok = '@400000006b02c12e10a72d0c'; // 1795342628 + 10 s, 279391500 ns
    expect(stampProblems([ok], t0, t0 + 1_000_000n)).toEqual([]);
    expect(stampProblems(['@400000006b02c12e10a72d0d'], t0, t0 + 1_000_000n)).toHaveLength(1); // ns not ...500
    expect(stampProblems([ok], t0 + 2_000_000n, t0 + 3_000_000n)).toHaveLength(1); // outside the window
    expect(stampProblems(['@400000006b02c12f10a72d0c', ok], t0, t0 + 2_000_000n)).toHaveLength(1); // decreasing
    const f = (name: string, data: string) => ({ name: `d/${name}`, kind: 'file' as const, mode: 0o744, data: Buffer.from(data) });
    const nl = 'x'.repeat(2999) + '\n';
    expect(rotationProblems([f('@a.s', nl), f('@b.s', 'y'.repeat(4096))], './d', 4096)).toEqual([]);
    expect(rotationProblems([f('@a.s', 'x'.repeat(2000) + '\n')], './d', 4096)).toHaveLength(1); // too short
    expect(rotationProblems([f('@a.s', 'x'.repeat(3000))], './d', 4096)).toHaveLength(1); // cut mid-line below s
    expect(rotationProblems([f('@a.s', 'x'.repeat(4096) + '\n')], './d', 4096)).toHaveLength(1); // over s
  });
});
