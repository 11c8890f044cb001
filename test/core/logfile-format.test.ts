// The `%` directives' parsing (src/core/script.ts), their line formats (src/core/logfile-format.ts) and the
// `%total` cap rule (src/core/rotation.ts capVictims).
import { describe, expect, it } from 'vitest';
import { headerJsonLine, headerTextLine, isHeaderMessage, jsonLogLine, jsonPieceMax } from '../../src/core/logfile-format.js';
import { capVictims } from '../../src/core/rotation.js';
import { parseScript } from '../../src/core/script.js';

describe('% directives', () => {
  it('without directives a log directory has no extras (multilog exactly)', () => {
    const s = parseScript(['t', 's5000', './a']);
    expect(s.logdirs[0]).toEqual({ dir: './a', size: 5000, num: 10, processor: null });
    expect('extras' in s.logdirs[0]!).toBe(false);
    expect(s.unknown).toBeUndefined();
  });

  it('apply to the log directories that follow, like s, n and !', () => {
    const s = parseScript(['t', './a', '%header', '%rotate=15m', '%total=2M', '%json', '%gzip', './b', '%noheader', '%text', '%rotate=0', '%nogzip', '%total=0', './c']);
    expect(s.logdirs[0]!.extras).toBeUndefined();
    expect(s.logdirs[1]!.extras).toEqual({ header: true, rotateSec: 900, totalBytes: 2 * 1024 * 1024, json: true, gzip: true, labelled: true });
    expect(s.logdirs[2]!.extras).toEqual({ header: false, rotateSec: 0, totalBytes: 0, json: false, gzip: false, labelled: true });
  });

  it('units: s m h d for %rotate, k M G for %total; malformed or unknown ones are listed and ignored', () => {
    expect(parseScript(['%rotate=2h', './a']).logdirs[0]!.extras!.rotateSec).toBe(7200);
    expect(parseScript(['%rotate=30', './a']).logdirs[0]!.extras!.rotateSec).toBe(30);
    expect(parseScript(['%rotate=1d', './a']).logdirs[0]!.extras!.rotateSec).toBe(86400);
    expect(parseScript(['%total=64k', './a']).logdirs[0]!.extras!.totalBytes).toBe(65536);
    expect(parseScript(['%total=3G', './a']).logdirs[0]!.extras!.totalBytes).toBe(3 * 1024 ** 3);
    const s = parseScript(['%gzp', '%rotate=5x', '%total=', '%header', './a']);
    expect(s.unknown).toEqual(['%gzp', '%rotate=5x', '%total=']);
    expect(s.logdirs[0]!.extras!.header).toBe(true);
    expect(s.logdirs[0]!.extras!.labelled).toBe(false);
  });

  it('a % argument is neither a logdir nor an action', () => {
    const s = parseScript(['%json', './a']);
    expect(s.actions).toEqual([{ kind: 'logdir', index: 0 }]);
    expect(s.trivial).toBe(true);
  });
});

describe('line formats', () => {
  const stamp = { tai: 1_700_000_010, nano: 123_456_789 }; // UNIX 1700000000 (daemontools: TAI - 10)

  it('JSON line: time, tai64n, message; message_base64 only for bytes that are not UTF-8', () => {
    const ok = JSON.parse(jsonLogLine(Buffer.from('héllo "x"\t'), stamp, false));
    expect(ok).toEqual({ time: '2023-11-14T22:13:20.123456789Z', tai64n: '@400000006553f10a075bcd15', message: 'héllo "x"\t' });
    const bad = JSON.parse(jsonLogLine(Buffer.from([0x61, 0xff, 0x62]), stamp, true));
    expect(bad.message).toBe('a\ufffdb');
    expect(Buffer.from(bad.message_base64, 'base64')).toEqual(Buffer.from([0x61, 0xff, 0x62]));
    expect(bad.continued).toBe(true);
    expect(jsonLogLine(Buffer.from('x'), stamp, false).endsWith('}\n')).toBe(true);
  });

  it('a piece of jsonPieceMax bytes fits in the file even at the worst escaping', () => {
    for (const size of [4096, 99999, 16777215]) {
      const worst = Buffer.alloc(jsonPieceMax(size), 0x01);
      worst[0] = 0xff; // not UTF-8: message_base64 too
      expect(Buffer.byteLength(jsonLogLine(worst, stamp, true))).toBeLessThanOrEqual(size);
    }
  });

  it('header lines: unique fields, labelled like other lines, recognisable', () => {
    const h = { host: 'web 1', dir: '/var/log/a', id: '0123456789abcdef0123456789abcdef', stamp };
    const t = headerTextLine(h, true);
    expect(t).toBe('@400000006553f10a075bcd15 upkeep-header host=web%201 dir=/var/log/a id=0123456789abcdef0123456789abcdef started=2023-11-14T22:13:20.123456789Z\n');
    expect(headerTextLine(h, false)).toBe(t.slice(26));
    expect(isHeaderMessage(Buffer.from(t.slice(26)))).toBe(true);
    expect(isHeaderMessage(Buffer.from('upkeep-headers'))).toBe(false);
    const j = JSON.parse(headerJsonLine(h));
    expect(j).toMatchObject({ upkeep_header: true, host: 'web 1', logdir: '/var/log/a', id: h.id, tai64n: '@400000006553f10a075bcd15' });
  });
});

describe('%total cap', () => {
  const a = (name: string, size: number) => ({ name, size });
  const L = (n: number, ext = '.s') => '@4000000000000000000000' + n.toString(16).padStart(2, '0') + ext;
  it('deletes the oldest until the rest fit; the newest always stays; foreign short names are not counted', () => {
    expect(capVictims([a(L(3), 10), a(L(1), 10), a(L(2), 10)], 25)).toEqual([L(1)]);
    expect(capVictims([a(L(3), 10), a(L(1), 10), a(L(2), 10)], 30)).toEqual([]);
    expect(capVictims([a(L(1), 100), a(L(2, '.s.gz'), 100)], 10)).toEqual([L(1)]);
    expect(capVictims([a('@short', 1000), a(L(1), 5)], 10)).toEqual([]);
  });
});
