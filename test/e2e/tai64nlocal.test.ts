// upkeep tai64nlocal against Debian's tai64nlocal, byte for byte, under many TZ values (zoneinfo names
// with DST, POSIX TZ strings, right/ zones, crafted TZif v1/v3 files, empty, unparseable), on generated
// labels from year -30000 to year 2e9 and around DST switches; plus what Debian's cannot do (malformed
// labels, on which it crashes) and the extras (--utc, --rfc3339, --tai).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IN_SIZE } from '../../src/io/stdio-filter.js';
import { itWithPeer, ROOT, tmpdir, upkeep, UPKEEP, waitFor } from '../helpers/index.js';

const BASE = (1n << 62n) + 10n;
const label = (t: bigint | number, nano = 0) =>
  '@' + (BASE + BigInt(t)).toString(16).padStart(16, '0') + nano.toString(16).padStart(8, '0');

function prng(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x80000000;
}

/** Lines a log might hold, every label well-formed (Debian crashes on the others). */
function generateInput(seed: number, n: number): string {
  const r = prng(seed);
  const tails = [' hello', '', '\tx', ' @400000006b02c12e10a72d0c', ':', ' ünïcode', 'Z'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    let t: number;
    if (k < 0.35) t = Math.floor((r() - 0.1) * 4.2e9); // 1937 .. 2100
    else if (k < 0.6) t = Math.floor((r() * 2 - 1) * 1e12); // +- 30000 years
    else if (k < 0.7) t = Math.floor((r() * 2 - 1) * 6.7e16); // up to the edge of a C int year
    else {
      // around the 2026/2027 DST switches of both hemispheres, and beyond 2037
      const edges = [1774746000, 1792890000, 1772953200, 1793512800, 1775314800, 1791043200, 2216770400, 2235513600];
      t = edges[Math.floor(r() * edges.length)]! + Math.floor((r() - 0.5) * 7200);
    }
    const nano = r() < 0.05 ? 1e9 + Math.floor(r() * 3e9) : Math.floor(r() * 1e9);
    const m = r();
    if (m < 0.04) lines.push('no label ' + i);
    else if (m < 0.06) lines.push('');
    else if (m < 0.07) lines.push('x' + label(t, nano));
    else lines.push(label(t, nano) + tails[i % tails.length]);
  }
  return lines.join('\n') + '\n';
}

function debian(input: string | Buffer, env: NodeJS.ProcessEnv) {
  return spawnSync('tai64nlocal', [], { input, env, maxBuffer: 1 << 28 });
}
function ours(input: string | Buffer, env: NodeJS.ProcessEnv, args: string[] = []) {
  return upkeep(['tai64nlocal', ...args], { input, env });
}
const envWith = (tz: string | undefined): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  if (tz === undefined) delete env.TZ;
  else env.TZ = tz;
  return env;
};

const ZONES: (string | undefined)[] = [
  undefined,
  'UTC',
  '',
  ':',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'America/Sao_Paulo',
  'Asia/Tehran',
  'Pacific/Chatham',
  ':Europe/Dublin',
  '/usr/share/zoneinfo/Africa/Casablanca',
  'right/Europe/London',
  'EST5EDT,M3.2.0,M11.1.0',
  '<+0330>-3:30',
  'CET-1CEST,M3.5.0,M10.5.0/3',
  'JST-9',
  'AAA3BBB',
  'NZST-12NZDT,M9.5.0,M4.1.0/3',
  '<-03>3<-02>,M3.5.0/-2,M10.5.0/-1',
  'EST5EDT,M3.2.0/-1,M11.1.0/26',
  'XXX3YYY,J60/25,300/-3',
  'JST-9x',
  'garbage!',
  '/nonexistent/zone',
  'Europe',
];

describe('upkeep tai64nlocal vs Debian tai64nlocal', () => {
  const input = generateInput(20261122, 6000);

  itWithPeer(['tai64nlocal'])(
    `is byte-identical under ${ZONES.length} TZ values`,
    async () => {
      const results = await Promise.all(
        ZONES.map(async (tz) => {
          const env = envWith(tz);
          const want = debian(input, env);
          const got = await ours(input, env);
          return { tz, want, got };
        }),
      );
      for (const { tz, want, got } of results) {
        expect(want.status, `Debian under TZ=${tz}`).toBe(0);
        expect(got.code, `ours under TZ=${tz}`).toBe(0);
        if (!got.stdout.equals(want.stdout)) {
          const a = got.stdout.toString('latin1').split('\n');
          const b = want.stdout.toString('latin1').split('\n');
          const i = a.findIndex((l, k) => l !== b[k]);
          expect(`${tz}: line ${i}: ${a[i]}`).toBe(`${tz}: line ${i}: ${b[i]}`);
        }
      }
    },
    120_000,
  );

  itWithPeer(['tai64nlocal', 'zic'])('is byte-identical on crafted TZif v1 and v3 files', async () => {
    const dir = tmpdir();
    // v3: zic writes a version-3 file when the footer needs rule times outside 0..24 h.
    writeFileSync(
      join(dir, 'src'),
      ['Rule\tX\t2000\tmax\t-\tMar\tlastSun\t-1:00\t1:00\tD', 'Rule\tX\t2000\tmax\t-\tOct\tSun>=1\t25:00\t0\tS',
        'Zone\tTest/V3\t-3:00\tX\t-03/-02'].join('\n') + '\n',
    );
    const zic = spawnSync('zic', ['-d', dir, '-b', 'slim', join(dir, 'src')]);
    expect(zic.status, zic.stderr.toString()).toBe(0);
    const v3 = join(dir, 'Test/V3');
    expect(readFileSync(v3).subarray(0, 5).toString()).toBe('TZif3');
    // v1: a hand-made file with two types and three transitions, no 64-bit part.
    const v1 = join(dir, 'v1');
    const hdr = Buffer.alloc(44);
    hdr.write('TZif', 0);
    [0, 0, 0, 3, 2, 8].forEach((v, i) => hdr.writeInt32BE(v, 20 + 4 * i));
    const body = Buffer.alloc(3 * 5 + 2 * 6 + 8);
    [100000000, 1000000000, 1500000000].forEach((t, i) => body.writeInt32BE(t, 4 * i));
    body.set([1, 0, 1], 12);
    body.writeInt32BE(-7200, 15);
    body.set([0, 0], 19);
    body.writeInt32BE(19800, 21);
    body.set([1, 4], 25);
    body.write('AAA\0BBB\0', 27, 'latin1');
    writeFileSync(v1, Buffer.concat([hdr, body]));
    const inp = generateInput(7, 3000);
    for (const tz of [v3, v1, ':' + v1]) {
      const want = debian(inp, envWith(tz));
      const got = await ours(inp, envWith(tz));
      expect(want.status).toBe(0);
      expect(got.stdout.equals(want.stdout), `TZ=${tz}`).toBe(true);
    }
  });

  itWithPeer(['tai64nlocal'])('handles labels cut by a read boundary at every offset, from a file, like Debian', async () => {
    // A regular file is read in IN_SIZE chunks: put a label across the boundary at each offset 0..26.
    const dir = tmpdir();
    const parts: string[] = [];
    let size = 0;
    for (let k = 0; k <= 26; k++) {
      const boundary = (k + 1) * IN_SIZE;
      const pad = boundary - k - size - 1; // a filler line, then the label starting k bytes before the boundary
      parts.push('f'.repeat(pad) + '\n');
      const l = label(1795342628 + k, 279391500) + (k % 2 ? ' x\n' : '\n');
      parts.push(l);
      size += pad + 1 + l.length;
    }
    parts.push(label(1795342628, 1)); // and a label at EOF without terminator: no output
    const file = join(dir, 'in');
    writeFileSync(file, parts.join(''));
    const want = spawnSync('sh', ['-c', `tai64nlocal < ${file}`], { maxBuffer: 1 << 26, env: envWith('Europe/Berlin') });
    const got = await runWithStdinFile(file, ['tai64nlocal'], envWith('Europe/Berlin'));
    expect(want.status).toBe(0);
    expect(got.equals(want.stdout)).toBe(true);
    expect(got.toString('latin1').includes('\n2026-11-22 11:17:09.279391500 x\n')).toBe(true);
  });

  itWithPeer(['tai64nlocal'])('copies partial lines and drops an unterminated label at EOF, like Debian', async () => {
    for (const inp of ['x\n@400000006b02c12e10a72d0c', '@400000006b02c12e10a72d0c tail', 'plain', '', '\n\n', '@400000006b02c12e10a72d0c']) {
      const want = debian(inp, envWith('UTC'));
      const got = await ours(inp, envWith('UTC'));
      expect(got.stdout.toString('latin1'), JSON.stringify(inp)).toBe(want.stdout.toString('latin1'));
    }
  });
});

describe('upkeep tai64nlocal beyond Debian', () => {
  const malformed = [
    '@ABCDEF x',
    '@ y',
    '@zzz',
    '@40000000 x',
    '@400000006b02c12e x',
    '@4000000000000000000000000 x',
    '@400000006b02c12e10a72d0 x',
    '@400000006B02C12E10A72D0C x',
    '@ffffffffffffffff00000000 x', // 24 digits, but beyond a C int year: Debian crashes here too
    '@0000000000000000ffffffff x',
    '@',
  ];

  itWithPeer(['tai64nlocal'])('passes malformed labels through unchanged where Debian crashes', async () => {
    for (const l of malformed) {
      const want = debian(l + '\n', envWith('UTC'));
      expect(want.signal, l).toBe('SIGSEGV');
    }
    const inp = malformed.join('\n') + '\n@400000006b02c12e10a72d0c ok\n';
    const got = await ours(inp, envWith('UTC'));
    expect(got.code).toBe(0);
    expect(got.stdout.toString()).toBe(malformed.join('\n') + '\n2026-11-22 10:17:08.279391500 ok\n');
  });

  itWithPeer(['s6-tai64nlocal'])('passes malformed labels through as s6-tai64nlocal does', async () => {
    const inp = malformed.slice(0, 7).join('\n') + '\n'; // (s6 reads uppercase hex too)
    const s6 = spawnSync('s6-tai64nlocal', [], { input: inp });
    const got = await ours(inp, envWith('UTC'));
    expect(got.stdout.toString()).toBe(s6.stdout.toString());
  });

  itWithPeer(['tai64nlocal'])('--utc prints what Debian prints under TZ=UTC, whatever TZ says', async () => {
    const inp = generateInput(99, 2000);
    const want = debian(inp, envWith('UTC'));
    const got = await ours(inp, envWith('Australia/Lord_Howe'), ['--utc']);
    expect(got.stdout.equals(want.stdout)).toBe(true);
  });

  it('--rfc3339 prints RFC 3339 with nanoseconds, Z or the local offset', async () => {
    const inp = '@400000006b02c12e10a72d0c hello\n@4000000068a9d00000000000 summer\nplain\n';
    const utc = await ours(inp, envWith('Europe/Berlin'), ['--rfc3339', '--utc']);
    expect(utc.stdout.toString()).toBe('2026-11-22T10:17:08.279391500Z hello\n2025-08-23T14:28:06.000000000Z summer\nplain\n');
    const local = await ours(inp, envWith('Europe/Berlin'), ['--rfc3339']);
    expect(local.stdout.toString()).toBe(
      '2026-11-22T11:17:08.279391500+01:00 hello\n2025-08-23T16:28:06.000000000+02:00 summer\nplain\n',
    );
    const half = await ours(inp, envWith('<+0330>-3:30'), ['--rfc3339']);
    expect(half.stdout.toString().split('\n')[0]).toBe('2026-11-22T13:47:08.279391500+03:30 hello');
  });

  itWithPeer(['s6-tai64n', 's6-tai64nlocal'])('--tai s6 reads s6 labels as s6-tai64nlocal does', async () => {
    const s6 = spawnSync('s6-tai64n', [], { input: 'now\n' }).stdout.toString();
    const r = prng(3);
    const lines = [s6.trim()];
    for (let i = 0; i < 500; i++) {
      // s6 labels: UNIX + 10 + leap seconds, 1972 .. 2100
      const t = BigInt(Math.floor(80e6 + r() * 4e9));
      const leaps = [78796800, 94694400, 126230400, 157766400, 189302400, 220924800, 252460800, 283996800, 315532800,
        362793600, 394329600, 425865600, 489024000, 567993600, 631152000, 662688000, 709948800, 741484800, 773020800,
        820454400, 867715200, 915148800, 1136073600, 1230768000, 1341100800, 1435708800, 1483228800].filter((l) => BigInt(l) <= t).length;
      lines.push(label(t + BigInt(leaps), Math.floor(r() * 1e9)) + ' s6');
    }
    // and the leap seconds themselves (23:59:60 UTC), and the seconds around them
    for (const l of ['@40000000586846a4', '@40000000586846a3', '@40000000586846a5', '@4000000004b2580a', '@400000002c4f0bf5'])
      lines.push(l + '3b9ac9ff leap');
    const inp = lines.join('\n') + '\n';
    const want = spawnSync('s6-tai64nlocal', [], { input: inp, env: envWith('Europe/Berlin') });
    expect(want.stdout.toString()).toContain(':60.999999999 leap');
    const got = await ours(inp, envWith('Europe/Berlin'), ['--tai', 's6']);
    expect(got.stdout.toString()).toBe(want.stdout.toString());
  });

  it('rejects unknown arguments with a usage message (exit 100)', async () => {
    for (const args of [['-x'], ['--tai', 'gps'], ['--tai'], ['file']]) {
      const r = await upkeep(['tai64nlocal', ...args], { input: '' });
      expect(r.code, args.join(' ')).toBe(100);
      expect(r.stderr.toString()).toBe('tai64nlocal: usage: tai64nlocal [--utc] [--rfc3339] [--tai daemontools|s6]\n');
    }
    const ok = await upkeep(['tai64nlocal', '--tai=daemontools', '--utc'], { input: '@400000006b02c12e10a72d0c\n' });
    expect(ok.stdout.toString()).toBe('2026-11-22 10:17:08.279391500\n');
  });

  it('converts a line as soon as it is written (flushes before blocking)', async () => {
    const child = spawn(UPKEEP, ['tai64nlocal', '--utc'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stdin.write('@400000006b02c12e10a72d0c first\n');
    await waitFor(() => out === '2026-11-22 10:17:08.279391500 first\n', 'the first line');
    child.stdin.write('second\n@400000006b02c12e10a72d0c');
    await waitFor(() => out.endsWith('second\n'), 'the second line');
    child.stdin.end(' third\n');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(out).toBe('2026-11-22 10:17:08.279391500 first\nsecond\n2026-11-22 10:17:08.279391500 third\n');
  });

  it('exits 111 on a read error and on a write error', async () => {
    const dir = tmpdir();
    const rd = spawnSync(UPKEEP, ['tai64nlocal'], { stdio: [openSync(dir, 'r'), 'pipe', 'pipe'] });
    expect(rd.status).toBe(111);
    const child = spawn(UPKEEP, ['tai64nlocal'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.destroy();
    child.stdin.on('error', () => {});
    child.stdin.end(Buffer.alloc(4 << 20, '@400000006b02c12e10a72d0c\n'));
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(111);
  });

  it('loads only what it needs at start-up: no commander, date-fns, node:net, nor the zone code', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
        else seen.add(spec);
      }
    };
    const expected: Record<string, string[]> = {
      tai64nlocal: ['core/errors.ts', 'io/stdio-filter.ts', 'node:fs', 'programs/tai64nlocal.ts'],
      tai64n: ['core/errors.ts', 'core/tai64n.ts', 'io/clock.ts', 'io/stdio-filter.ts', 'node:fs', 'node:process', 'programs/tai64n.ts'],
    };
    for (const [prog, want] of Object.entries(expected)) {
      seen.clear();
      visit(join(ROOT, 'src/programs', prog + '.ts'));
      const got = [...seen].map((s) => (s.startsWith('/') ? s.slice(join(ROOT, 'src').length + 1) : s)).sort();
      expect(got, prog).toEqual(want);
    }
  });
});

/** Runs upkeep with stdin read from a regular file (so reads come in whole IN_SIZE chunks). */
async function runWithStdinFile(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  const fd = openSync(file, 'r');
  try {
    const child = spawn(UPKEEP, args, { stdio: [fd, 'pipe', 'inherit'], env });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    await new Promise((r) => child.on('close', r));
    return Buffer.concat(out);
  } finally {
    closeSync(fd);
  }
}
