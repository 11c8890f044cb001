// svscan's side of the loghost protocol against a scripted fake loghost (LogHostOptions.command): replies
// of a loghost that has died must neither reach the next one's incarnations nor break its replies' framing.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/io/journal.js';
import { LogHostClient } from '../../src/io/loghost-client.js';
import { createLogPipe, type LogPipe } from '../../src/io/logpipe.js';
import { tmpdir, waitFor } from '../helpers/index.js';

// The first fake loghost, on `start`, leaves a child holding its stdout and dies. That child waits until
// the second loghost runs, then writes HALF a reply into the dead one's stdout and says so (file
// `partial`). The second loghost answers `stop` with a proper `stopped` reply for the incarnation it ran
// (and nothing else: its first reply is the one the half reply would spoil).
const FAKE = `
const { spawn } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const first = !existsSync('first-ran');
writeFileSync(first ? 'first-ran' : 'second-ran', String(process.pid));
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (t) => {
  buf += t;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const r = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (r.op === 'start' && first) {
      const late = 'const fs = require("node:fs"); const t = setInterval(() => { if (!fs.existsSync("second-ran")) return;' +
        ' clearInterval(t); fs.writeSync(1, \\'{"event":"stopped","na\\'); fs.writeFileSync("partial", ""); }, 5);';
      spawn(process.execPath, ['-e', late], { stdio: ['ignore', 'inherit', 'inherit'], detached: true }).unref();
      process.exit(1);
    }
    if (r.op === 'stop') process.stdout.write(JSON.stringify({ event: 'stopped', name: r.name, gen: r.gen, code: 0 }) + '\\n');
  }
});
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

let client: LogHostClient | undefined;
const pipes: LogPipe[] = [];
afterEach(async () => {
  await client?.stop();
  client = undefined;
  for (const p of pipes.splice(0)) p.close();
});

describe('LogHostClient', () => {
  it('a dead loghost that still writes half a reply spoils neither the framing nor the incarnations of the next one', async () => {
    const dir = tmpdir('upkeep-lhc-');
    writeFileSync(join(dir, 'fake.cjs'), FAKE);
    writeFileSync(join(dir, 'script'), './main\n');
    const says: string[] = [];
    client = new LogHostClient({ treeDir: dir, say: (l) => says.push(l), journal: {} as Journal, command: [process.execPath, join(dir, 'fake.cjs')] });
    const pipe = createLogPipe(dir);
    pipes.push(pipe);
    const runner = client.runner('a', dir, pipe);
    const ends: string[] = [];
    const pid1 = runner.start((code, signal) => ends.push(`1:${code}:${signal}`));
    await waitFor(() => ends.length === 1, 'the first loghost died');
    expect(ends).toEqual(['1:1:null']);
    const pid2 = runner.start((code, signal) => ends.push(`2:${code}:${signal}`));
    expect(pid2).not.toBe(pid1);
    await waitFor(() => existsSync(join(dir, 'partial')), 'half a reply written into the dead loghost stdout');
    // one more turn of the event loop, so that the half reply has been read before the next reply exists
    // (only the old code cares: it glued both into one unparsable line and lost the second)
    await new Promise((r) => setTimeout(r, 50));
    runner.signal(pid2, 'SIGTERM', false);
    await waitFor(() => ends.length === 2, `the second incarnation's end (${JSON.stringify(ends)})`, 5000);
    expect(ends).toEqual(['1:1:null', '2:0:null']);
    expect(says.filter((l) => l.includes('loghost'))).toHaveLength(1); // the first one's death, once
  });
});
