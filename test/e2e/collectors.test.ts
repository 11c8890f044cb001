// docs/collectors.md, tested with the collector Debian packages here: a private rsyslogd whose imfile
// reads a log directory's finished archives (`@*.s`) while a real `upkeep multilog` (with %header and
// %rotate) rotates under load. Every line must arrive exactly once, header lines accounted for (one per
// archive). (Following `current` alone loses a whole file when it lives shorter than imfile takes to
// notice it: seen here, 70 of 2000 lines; following both `current` and the archives repeats lines.)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { itWithPeer, tmpdir, UPKEEP, waitFor, which } from '../helpers/index.js';

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** The collector's output lines, labels removed. */
const outLines = (f: string): string[] =>
  existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.replace(/^@[0-9a-f]{24} /, '')) : [];

describe('collectors that read files', () => {
  itWithPeer(['rsyslogd'])("rsyslog's imfile reads the archives while the logger rotates (size and %rotate): every line exactly once, one header per file", async () => {
    const base = tmpdir('upkeep-coll-');
    mkdirSync(join(base, 'work'));
    const logdir = join(base, 'log');
    mkdirSync(logdir); // imfile (inotify) watches the directory: it must exist when rsyslogd starts
    const out = join(base, 'out.txt');
    const conf = join(base, 'rsyslog.conf');
    // The configuration docs/collectors.md gives (paths adapted), plus an output file for the test.
    writeFileSync(
      conf,
      `global(workDirectory="${base}/work")
module(load="imfile" mode="inotify")
input(type="imfile" file="${logdir}/@*.s" tag="svc" ruleset="svc" freshStartTail="off")
template(name="msgonly" type="string" string="%msg%\\n")
ruleset(name="svc") { action(type="omfile" file="${out}" template="msgonly") }
`,
    );
    const rs = spawn(which('rsyslogd')!, ['-n', '-f', conf, '-i', join(base, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(rs);
    let rsErr = '';
    rs.stderr!.on('data', (b: Buffer) => (rsErr += b.toString()));
    const ml = spawn(UPKEEP, ['multilog', 't', '%header', '%rotate=1s', 's4096', 'n999', logdir], { stdio: ['pipe', 'ignore', 'pipe'] });
    procs.push(ml);
    const mlDone = new Promise<number | null>((r) => ml.on('exit', (c) => r(c)));
    const sent: string[] = [];
    // 40 batches of 50 lines (about 2 rotations each) at a steady rate, so that rsyslog follows while the
    // logger rotates; the last lines reach an archive by %rotate=1s, with no further input.
    for (let b = 0; b < 40; b++) {
      const batch = Array.from({ length: 50 }, (_, i) => `line ${b * 50 + i} ${'x'.repeat((b * 7 + i) % 40)}`);
      sent.push(...batch);
      await new Promise<void>((r) => ml.stdin!.write(batch.join('\n') + '\n', () => r()));
      await new Promise((r) => setTimeout(r, 10)); // a rate, not a wait for an event
    }
    const last = ['last 1', 'last 2', 'last 3']; // usually left in `current` for %rotate to finish (unless they fill it)
    sent.push(...last);
    ml.stdin!.write(last.join('\n') + '\n');
    const count = (): number => outLines(out).filter((l) => !l.startsWith('upkeep-header ')).length;
    await waitFor(() => count() >= sent.length, 'every line at rsyslog', 20_000).catch((e: Error) => {
      const have = new Set(outLines(out));
      throw new Error(`${e.message}: missing ${sent.filter((l) => !have.has(l)).map((l) => l.split(' ')[1]).join(',')}; rsyslogd said: ${rsErr}`);
    });
    ml.stdin!.end();
    expect(await mlDone).toBe(0);
    const archives = readdirSync(logdir).filter((n) => n.startsWith('@'));
    expect(archives.length).toBeGreaterThan(20);
    const got = outLines(out);
    // exactly once; the order across archives is rsyslog's (it may read two new archives at once)
    const data = got.filter((l) => !l.startsWith('upkeep-header '));
    expect(data.length).toBe(sent.length);
    expect([...data].sort()).toEqual([...sent].sort());
    const headers = got.filter((l) => l.startsWith('upkeep-header '));
    expect(headers.length).toBe(archives.length);
    expect(new Set(headers.map((h) => /id=(\w+)/.exec(h)![1])).size).toBe(headers.length);
    expect(got.length).toBe(sent.length + headers.length);
  }, 60_000);
});
