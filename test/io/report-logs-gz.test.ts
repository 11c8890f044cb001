// `upkeep report`'s crash context from a %gzip + %header log directory: compressed archives are read
// in order with current, and header lines are not counted as the service's last lines.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { headerTextLine } from '../../src/core/logfile-format.js';
import { formatStamp } from '../../src/core/logline.js';
import { collectContext, logFiles } from '../../src/io/report-logs.js';
import { tmpdir } from '../helpers/index.js';

describe('report crash context over %gzip and %header', () => {
  it('reads @stamp.s.gz archives (one of NAME/NAME.gz) and skips header lines', async () => {
    const d = tmpdir();
    const st = (n: number): string => formatStamp({ tai: 1_800_000_000 + n, nano: 0 });
    const hdr = (n: number): string => headerTextLine({ host: 'h', dir: d, id: 'ef'.repeat(16), stamp: { tai: 1_800_000_000 + n, nano: 0 } }, true);
    const note = 'upkeep: exit pid=7 code=1 signal=- uptime=1.000 next=restart';
    writeFileSync(join(d, `${st(10)}.s.gz`), gzipSync(`${hdr(1)}${st(1)} one\n${st(2)} two\n`));
    writeFileSync(join(d, `${st(20)}.s`), `${hdr(11)}${st(11)} three\n`);
    writeFileSync(join(d, `${st(20)}.s.gz`), gzipSync(`${hdr(11)}${st(11)} three\n`));
    writeFileSync(join(d, 'current'), `${hdr(21)}${st(21)} ${note}\n`);
    expect(logFiles(d).map((f) => f.slice(d.length + 1))).toEqual([`${st(10)}.s.gz`, `${st(20)}.s`, 'current']);
    const exits = [{ at: 5, pid: 7, cause: 'exit:1', code: 1, signal: null, uptime: 1, operator: false, failure: true, next: 'restart', context: [] as string[], contextKind: 'none' as const }];
    await collectContext(d, exits, 5);
    expect(exits[0]!.contextKind).toBe('exact');
    expect(exits[0]!.context).toEqual(['one', 'two', 'three']);
  });
});
