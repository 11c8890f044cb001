// `upkeep loghost` driven by its protocol (src/io/loghost-client.ts) directly, with the request orderings
// that svscan produces when `svc -t` lands at a bad moment. Each ordering is made certain by writing the
// requests in one write (loghost handles the lines of one read in the same tick, while a logger's open is
// still under way) or after a reply has been seen. Before the incarnation numbers, both ended with svscan
// taking a stale `stopped` for the NEW incarnation's death (a logger-exit, then a backoff).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync, constants as C } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mkfifoSync } from '../../src/io/fifo.js';
import { tmpdir, UPKEEP, waitFor } from '../helpers/index.js';

interface Reply {
  event: string;
  name?: string;
  gen?: number;
  code?: number;
  error?: string;
}

interface Host {
  proc: ChildProcess;
  replies: Reply[];
  stderr: () => string;
  /** Writes the requests in ONE write. */
  send(...reqs: object[]): void;
  /** Waits for the n-th (1-based) reply of this event. */
  nth(event: string, n: number): Promise<Reply>;
  exited: Promise<unknown>;
}

const hosts: Host[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) {
    if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill('SIGKILL');
    await h.exited;
  }
});

function loghost(cwd: string): Host {
  const proc = spawn(UPKEEP, ['loghost'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const replies: Reply[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (t: string) => {
    buf += t;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      replies.push(JSON.parse(buf.slice(0, nl)) as Reply);
      buf = buf.slice(nl + 1);
    }
  });
  const err: Buffer[] = [];
  proc.stderr!.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise((r) => proc.once('exit', r));
  const h: Host = {
    proc,
    replies,
    stderr: () => Buffer.concat(err).toString('latin1'),
    send: (...reqs) => proc.stdin!.write(reqs.map((r) => `${JSON.stringify(r)}\n`).join('')),
    nth: (event, n) => waitFor(() => replies.filter((r) => r.event === event)[n - 1], `reply ${event} #${n} (got ${JSON.stringify(replies)})`),
    exited,
  };
  hosts.push(h);
  return h;
}

/** A FIFO with loghost as its reader (added as slot `a`), a writer for the test, and the log directory. */
async function setup(): Promise<{ h: Host; write: (s: string) => void; logged: () => string[]; dir: string; close: () => void }> {
  const base = tmpdir('upkeep-loghost-');
  const fifo = join(base, 'pipe');
  mkfifoSync(fifo);
  const h = loghost(base);
  h.send({ op: 'add', name: 'a', path: fifo, token: 'x' });
  await h.nth('added', 1);
  const wfd = openSync(fifo, C.O_WRONLY | C.O_NONBLOCK); // loghost holds the read end: no ENXIO
  const cur = join(base, 'main/current');
  return {
    h,
    dir: base,
    write: (s) => writeSync(wfd, s),
    logged: () => (existsSync(cur) ? readFileSync(cur, 'latin1').split('\n').filter((l) => l !== '') : []),
    close: () => closeSync(wfd),
  };
}

const START = { op: 'start', name: 'a', script: ['./main'], dir: '.', notes: true };

/** The started/stopped replies, as "started:GEN" / "stopped:GEN:CODE". */
function story(h: Host): string[] {
  return h.replies
    .filter((r) => r.event === 'started' || r.event === 'stopped')
    .map((r) => (r.event === 'started' ? `started:${r.gen}` : `stopped:${r.gen}:${r.code}`));
}

async function finish(h: Host, close: () => void): Promise<void> {
  close();
  h.proc.kill('SIGTERM');
  await h.exited;
  expect(h.proc.exitCode).toBe(0);
}

describe('loghost: svc -t at a bad moment', () => {
  it('a second stop that crosses the reply to the first is ignored: the next incarnation runs on', async () => {
    const { h, write, logged, close } = await setup();
    h.send({ ...START, gen: 1 });
    await h.nth('started', 1);
    write('one\n');
    await waitFor(() => logged().includes('one'), 'one logged');
    h.send({ op: 'stop', name: 'a', gen: 1 });
    await h.nth('stopped', 1);
    // svscan sent a second stop (svc -t again) before it read that reply, then the next start
    h.send({ op: 'stop', name: 'a', gen: 1 }, { ...START, gen: 2 });
    await h.nth('started', 2);
    write('two\n');
    await waitFor(() => logged().includes('two'), 'two logged by the second incarnation');
    h.send({ op: 'stop', name: 'a', gen: 2 });
    await h.nth('stopped', 2);
    // replies come in order: nothing between (the old loghost answered the stale stop with a `stopped`)
    expect(story(h)).toEqual(['started:1', 'stopped:1:0', 'started:2', 'stopped:2:0']);
    expect(logged()).toEqual(['one', 'two']);
    await finish(h, close);
  });

  it('a stop while the logger is opening stops it once open; the next start opens it again (no lock failure)', async () => {
    const { h, write, logged, close } = await setup();
    h.send({ ...START, gen: 1 }, { op: 'stop', name: 'a', gen: 1 }); // the stop is read while Logger.open runs
    await h.nth('stopped', 1);
    expect(story(h)).toEqual(['started:1', 'stopped:1:0']); // stopped only once really stopped
    write('after\n'); // nobody reads now: it waits in the pipe for the next incarnation
    h.send({ ...START, gen: 2 });
    await h.nth('started', 2);
    await waitFor(() => logged().includes('after'), 'the line logged by the second incarnation');
    h.send({ op: 'stop', name: 'a', gen: 2 });
    await h.nth('stopped', 2);
    expect(story(h)).toEqual(['started:1', 'stopped:1:0', 'started:2', 'stopped:2:0']);
    expect(h.stderr()).not.toContain('unable to lock');
    expect(logged()).toEqual(['after']);
    await finish(h, close);
  });

  it('stops for every incarnation in a row, each crossing the next start: one end per incarnation, in order', async () => {
    const { h, write, logged, close } = await setup();
    h.send({ ...START, gen: 1 });
    await h.nth('started', 1);
    for (let g = 1; g <= 20; g++) {
      write(`line ${g}\n`);
      // a stop of g, then a late second stop of g together with the start of g+1 (every second time inside
      // the same write as the stop, so that it lands while g is still stopping)
      if (g % 2) h.send({ op: 'stop', name: 'a', gen: g }, { op: 'stop', name: 'a', gen: g });
      else h.send({ op: 'stop', name: 'a', gen: g });
      await h.nth('stopped', g);
      h.send({ op: 'stop', name: 'a', gen: g }, { ...START, gen: g + 1 });
      await h.nth('started', g + 1);
    }
    await waitFor(() => logged().length === 20, 'every line logged (a line a stop left in the pipe by the next one)');
    h.send({ op: 'stop', name: 'a', gen: 21 });
    await h.nth('stopped', 21);
    const want: string[] = [];
    for (let g = 1; g <= 21; g++) want.push(`started:${g}`, `stopped:${g}:0`);
    expect(story(h)).toEqual(want);
    expect(logged()).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 1}`));
    await finish(h, close);
  });
});
