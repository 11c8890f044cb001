// `upkeep tail` and `upkeep export` over `%json` and `%header` directories written by `upkeep multilog`:
// messages and times come from the objects (per line), merged with a text directory of Debian's
// multilog by time; header lines only in -o raw, never shipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { UPKEEP, itWithPeer, tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { jsonLinesReceiver } from '../helpers/net.js';

const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});

const lines = (s: string): string[] => s.split('\n').slice(0, -1);
const stored = (d: string, enc: BufferEncoding = 'latin1'): string[] => {
  try {
    return listLogdir(d).flatMap((f) => lines(readFileSync(join(d, f.name), enc)));
  } catch {
    return [];
  }
};

/** web: upkeep multilog t %json %header; db: Debian multilog t; lines written alternately, each stored before the next. */
async function twoDirs(): Promise<{ web: string; db: string; order: string[] }> {
  const base = tmpdir();
  const web = join(base, 'web');
  const db = join(base, 'db');
  const a = spawn(UPKEEP, ['multilog', 't', '%json', '%header', 's4096', 'n20', web], { stdio: ['pipe', 'ignore', 'inherit'] });
  const b = spawn('multilog', ['t', 's4096', 'n20', db], { stdio: ['pipe', 'ignore', 'inherit'] });
  kids.push(a, b);
  const order: string[] = [];
  for (let i = 1; i <= 40; i++) {
    // (15: longer than one object may carry in s4096: stored as pieces marked "continued")
    const [p, d, msg] = i % 2 ? [a, web, i === 5 ? `bin \xff${i}` : i === 15 ? `web 15 ${'L'.repeat(2000)}` : `web ${i} ${'w'.repeat(i * 5)}`] : [b, db, `db ${i}`];
    p.stdin!.write(Buffer.from(msg + '\n', 'latin1'));
    order.push(msg);
    // (this very line: a count of stored lines also went up with the header of a new current, written
    // at a rotation before the line itself, and the next line could then be stamped before this one)
    const mark = i === 5 ? '"message":"bin ' : d === db ? ` db ${i}` : `"message":"web ${i} `;
    await waitFor(() => stored(d).some((l) => (d === db ? l.endsWith(mark) : l.includes(mark))), `line ${i}`);
  }
  a.stdin!.end();
  b.stdin!.end();
  await Promise.all([a, b].map((p) => new Promise((r) => p.on('exit', r))));
  return { web, db, order };
}

describe('upkeep tail over %json and %header directories', () => {
  itWithPeer(['multilog'])('shows messages and times from the objects, merged by time; headers only with -o raw', async () => {
    const { web, db, order } = await twoDirs();
    const raw = stored(web);
    const headers = raw.filter((l) => l.includes('"upkeep_header":true'));
    expect(headers.length).toBeGreaterThan(1); // rotated: one header per file
    const iso = await upkeep(['tail', '-o', 'iso', web, db]);
    expect(iso.stderr.toString()).toBe('');
    const got = lines(iso.stdout.toString());
    expect(got.map((l) => l.split(' ').slice(2).join(' '))).toEqual(order.map((m) => (m.startsWith('bin') ? 'bin \ufffd5' : m)));
    // iso times are the objects' own
    const webObjs = stored(web, 'utf8').filter((l) => !l.includes('"upkeep_header"')).map((l) => JSON.parse(l));
    expect(got.filter((l) => l.split(' ')[1] === 'web').map((l) => l.split(' ')[0])).toEqual(webObjs.filter((o) => !o.continued).map((o) => o.time));
    // json: exact bytes of the non-UTF-8 line; no time_estimated (the time is exact)
    const pieces = lines((await upkeep(['tail', '-o', 'json', '--host', 'h', web])).stdout.toString()).map((l) => JSON.parse(l));
    expect(pieces.filter((o) => o.continued === true).length).toBeGreaterThan(2);
    // json keeps the pieces (marked), iso/short joined them: joined again here to compare
    const js: Record<string, string>[] = [];
    for (const o of pieces) if (o.continued === true) js.at(-1)!.message += o.message; else js.push({ ...o });
    expect(js.map((o) => o.message)).toEqual(order.filter((m) => !m.startsWith('db')).map((m) => (m.startsWith('bin') ? 'bin \ufffd5' : m)));
    expect(js[2]).toMatchObject({ service: 'web', host: 'h', message_base64: Buffer.from('bin \xff5', 'latin1').toString('base64') });
    expect(pieces.every((o) => o.time_estimated === undefined && o.tai64n === webObjs[pieces.indexOf(o)].tai64n)).toBe(true);
    // short: no "~" (exact times), headers skipped; -n counts only shown lines; -g matches the message
    const short = lines((await upkeep(['tail', '-o', 'short', web])).stdout.toString());
    expect(short).toHaveLength(20);
    expect(short.some((l) => /~ /.test(l) || l.includes('upkeep-header'))).toBe(false);
    expect(lines((await upkeep(['tail', '-o', 'iso', '-n', '3', web])).stdout.toString()).map((l) => l.split(' ')[3])).toEqual(['35', '37', '39']);
    expect(lines((await upkeep(['tail', '-o', 'iso', '-g', '^web 1[13] ', web])).stdout.toString()).map((l) => l.split(' ')[3])).toEqual(['11', '13']);
    // raw: the stored lines as they are, headers included
    expect(lines((await upkeep(['tail', '-o', 'raw', web])).stdout.toString('latin1'))).toEqual(raw);
  });

  itWithPeer(['multilog'])('export ships the messages of %json lines and never a header line', async () => {
    const { web } = await twoDirs();
    const got: Record<string, unknown>[] = [];
    const port = await jsonLinesReceiver(got);
    const r = await upkeep(['export', '--to', `http://127.0.0.1:${port}/in`, '--host', 'h', web]);
    expect(r.code).toBe(0);
    const objs = stored(web, 'utf8').filter((l) => !l.includes('"upkeep_header"')).map((l) => JSON.parse(l));
    expect(got.map((o) => o.message)).toEqual(objs.map((o) => o.message));
    expect(got.map((o) => o.tai64n)).toEqual(objs.map((o) => o.tai64n));
  });
});
