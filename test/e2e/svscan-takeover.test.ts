// svscan SIGKILLed, a new one takes over: the running services and log/run loggers are adopted (never a
// second instance), the old loghost finishes its lines and exits, and every line written throughout is in
// the logs exactly once.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itWithPeer, run, upkeep, waitFor } from '../helpers/index.js';
import { freePort } from '../helpers/net.js';
import { readState } from '../../src/io/state.js';
import { alive, checkStorm, files, journal, logLines, startScan, statusPid, track, tree, waitEvent, WRITER } from './svscan-helpers.js';


/** Alive and not a zombie (an orphan's zombie may wait a while for PID 1 to reap it). */
function running(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('svscan takeover', () => {
  itWithPeer(['multilog'])('after SIGKILL of svscan, a new one adopts services and loggers; no second instance, no line lost', async () => {
    const dir = tree();
    const run = `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`;
    files(dir, {
      'r/writer.mjs': WRITER,
      'r/run': run,
      'r/log/run': '#!/bin/sh\necho $$ >> ../logger-pids\nexec multilog t s16777215 ./main\n',
      's/writer.mjs': WRITER,
      's/run': run,
      's/log/script': 't\ns16777215\n./main\n',
    });
    const first = startScan(dir);
    await waitFor(() => logLines(join(dir, 'r/log/main')).length > 200 && logLines(join(dir, 's/log/main')).length > 200, 'both logging');
    const rpid = statusPid(join(dir, 'r'));
    const spid = statusPid(join(dir, 's'));
    const lpid = statusPid(join(dir, 'r/log'));
    const host = statusPid(join(dir, 's/log'));
    await waitFor(() => existsSync(join(dir, '.upkeep/state.json')) && readFileSync(join(dir, '.upkeep/state.json'), 'utf8').includes(`"pid":${host}`), 'state file with the loghost');
    for (const p of [...childrenOf(first.proc.pid!), host]) track(p);
    first.proc.kill('SIGKILL');
    await first.exited;
    // The writers keep writing into their pipes while no svscan runs.
    const before = logLines(join(dir, 's/log/main')).length;
    await waitFor(() => logLines(join(dir, 's/log/main')).length > before + 100, 'the old loghost keeps logging');

    const second = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'r' && /adopted r \(pid/.test(String(e.msg)), 'r adopted');
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 's' && /adopted s \(pid/.test(String(e.msg)), 's adopted');
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'r/log' && /adopted/.test(String(e.msg)), 'r/log adopted');
    expect(statusPid(join(dir, 'r'))).toBe(rpid);
    expect(statusPid(join(dir, 's'))).toBe(spid);
    expect(statusPid(join(dir, 'r/log'))).toBe(lpid);
    await waitFor(() => !alive(host), 'the old loghost finished and exited');
    const host2 = await waitFor(() => statusPid(join(dir, 's/log')) !== host && statusPid(join(dir, 's/log')), 'a new loghost');
    expect(alive(host2)).toBe(true);
    const after = logLines(join(dir, 's/log/main')).length;
    await waitFor(() => logLines(join(dir, 's/log/main')).length > after + 100, 'the new loghost logs');
    // never a second instance: each writer and the multilog were started once
    for (const svc of ['r', 's']) expect(readFileSync(join(dir, svc, 'pids'), 'latin1').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(dir, 'r/logger-pids'), 'latin1').trim().split('\n')).toHaveLength(1);

    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    for (const svc of ['r', 's']) {
      const lines = logLines(join(dir, svc, 'log/main'));
      expect(checkStorm(lines, join(dir, svc, 'progress')).pids).toBe(1);
      expect(lines.filter((l) => / END \d+$/.test(l))).toHaveLength(1);
    }
    const exits = journal(dir).filter((e) => e.event === 'exit');
    expect(exits.map((e) => [e.service, e.adopted, e.code])).toEqual(expect.arrayContaining([['r', true, null], ['s', true, null]]));
  });
});

describe('svscan takeover: a pipe taken from the old loghost', () => {
  // The path where neither the service (dead) nor a log/run logger holds the pipe: only the previous
  // svscan's loghost does. Its logger was paused (svc -p NAME/log) so lines wait in the pipe; svscan is
  // SIGKILLed, then the service. The new svscan must take the pipe from /proc/<old loghost>/fd/N before
  // it lets the old loghost finish (which leaves the unread lines in the pipe), or those lines are lost.
  itWithPeer(['multilog'])('service dead, logger paused: every line waiting in the pipe is logged once by the new loghost; the old one exits first', async () => {
    const dir = tree();
    files(dir, {
      's/writer.mjs': WRITER,
      's/run': `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
      's/log/script': 't\ns16777215\n./main\n',
    });
    const first = startScan(dir);
    await waitFor(() => logLines(join(dir, 's/log/main')).length > 200, 'logging');
    const wpid = statusPid(join(dir, 's'));
    const host = statusPid(join(dir, 's/log'));
    track(wpid);
    track(host);
    await waitFor(() => existsSync(join(dir, '.upkeep/state.json')) && /"hostFd":\d+/.test(readFileSync(join(dir, '.upkeep/state.json'), 'utf8')), 'the pipe fd in the state file');
    const p = await upkeep(['svc', '-p', join(dir, 's/log')]);
    expect(p.code).toBe(0);
    await waitEvent(dir, (e) => e.event === 'control' && e.service === 's/log' && e.command === 'p', 'the pause');
    // the log stands still while the writer goes on into the pipe
    const progress = (): number => Number(readFileSync(join(dir, 's/progress', String(wpid)), 'latin1'));
    await waitFor(() => progress() > logLines(join(dir, 's/log/main')).length + 1000, 'a thousand lines waiting in the pipe');
    first.proc.kill('SIGKILL');
    await first.exited;
    process.kill(wpid, 'SIGKILL');
    await waitFor(() => !running(wpid), 'the writer dead');
    const waiting = progress() - logLines(join(dir, 's/log/main')).length;
    expect(waiting).toBeGreaterThan(500); // still in the pipe: the old loghost reads none of it
    expect(running(host)).toBe(true);

    const second = startScan(dir);
    const started = await waitEvent(dir, (e) => e.event === 'logger-start' && e.service === 's/log' && e.pid !== host, 'the new loghost');
    // the old loghost was gone before the new one started (the takeover waits for it)
    expect(running(host)).toBe(false);
    const lines = await waitFor(() => {
      const l = logLines(join(dir, 's/log/main'));
      return l.some((x) => x.startsWith(`${wpid} `) && Number(x.split(' ')[1]) >= progress()) && l;
    }, 'every line of the dead writer in the log').catch((err) => {
      const l = logLines(join(dir, 's/log/main')).filter((x) => x.startsWith(`${wpid} `));
      throw new Error(`${String(err)}: ${l.length} lines of ${wpid}, last ${l.at(-1)}, progress ${progress()}, stderr: ${second.stderr()} ${JSON.stringify(journal(dir).slice(-12))}`);
    });
    // the new loghost holds the log directory's lock: Debian's multilog cannot log there meanwhile
    const ml = await run('multilog', ['t', './main'], { cwd: join(dir, 's/log'), input: 'x\n' });
    expect(ml.code).toBe(111);
    expect(ml.stderr.toString()).toContain('unable to lock directory');
    expect(journal(dir).filter((e) => e.event === 'logger-exit' && e.service === 's/log' && e.code === 111)).toEqual([]);
    expect(statusPid(join(dir, 's/log'))).toBe(started.pid);

    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    const all = logLines(join(dir, 's/log/main'));
    const r = checkStorm(all, join(dir, 's/progress'));
    expect(r.pids).toBe(2); // the killed writer and the one the new svscan started
    expect(lines.filter((l) => l.startsWith(`${wpid} `)).length).toBeGreaterThanOrEqual(progress());
  }, 30_000);
});

/**
 * A log/run service (multilog) writing numbered lines; svscan SIGKILLed, then the logger stopped while no
 * svscan runs; resolves once the writer is blocked on the full pipe (not dead of SIGPIPE).
 */
async function blockedWriter(): Promise<{ dir: string; wpid: number; lpid: number; host: number; progress: () => number }> {
  const dir = tree();
  files(dir, {
    'r/writer.mjs': WRITER,
    'r/run': `#!/bin/sh\nexec ${process.execPath} writer.mjs\n`,
    'r/log/run': '#!/bin/sh\necho $$ >> ../logger-pids\nexec multilog t s16777215 ./main\n',
  });
  const first = startScan(dir);
  await waitFor(() => logLines(join(dir, 'r/log/main')).length > 200, 'logging');
  const wpid = statusPid(join(dir, 'r'));
  const lpid = statusPid(join(dir, 'r/log'));
  track(wpid);
  await waitFor(() => {
    const st = existsSync(join(dir, '.upkeep/state.json')) ? readState(join(dir, '.upkeep')) : undefined;
    return st?.loghost !== undefined && st.services.r?.heldFd !== undefined && st.services.r.logger?.pid === lpid;
  }, 'loghost holding the pipe, in the state file');
  const host = readState(join(dir, '.upkeep'))!.loghost!.pid;
  track(host);
  first.proc.kill('SIGKILL');
  await first.exited;
  process.kill(lpid, 'SIGTERM'); // multilog finishes its line and exits: what it has not read stays in the pipe
  await waitFor(() => !running(lpid), 'the logger gone');
  const progress = (): number => Number(readFileSync(join(dir, 'r/progress', String(wpid)), 'latin1'));
  const at = progress();
  // the writer goes on until the pipe is full, then blocks in write(2): no SIGPIPE, no EPIPE
  await waitFor(() => progress() > at + 300, 'the writer writing on with no logger');
  await waitFor(() => running(wpid) && /pipe_write/.test(readFileSync(`/proc/${wpid}/wchan`, 'latin1')), 'the writer blocked on the full pipe');
  return { dir, wpid, lpid, host, progress };
}

describe('svscan takeover: a log/run logger that dies while no svscan runs', () => {
  // daemontools: `supervise log` (alive) holds the pipe's read end, so the service blocks on a full pipe.
  // upkeep: svscan holds one but died; loghost (which survives svscan) holds one too, never reading it.
  itWithPeer(['multilog'])('the service blocks instead of dying of SIGPIPE; the new svscan adopts it, starts a logger, every line arrives once', async () => {
    const { dir, wpid, lpid, host, progress } = await blockedWriter();
    const second = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'r' && /adopted r \(pid/.test(String(e.msg)), 'r adopted');
    await waitEvent(dir, (e) => e.event === 'logger-start' && e.service === 'r/log' && e.pid !== lpid, 'a new logger');
    const now = progress();
    await waitFor(() => logLines(join(dir, 'r/log/main')).length > now + 100, 'the writer unblocked and logged again');
    await waitFor(() => !running(host), 'the old loghost gone');
    expect(statusPid(join(dir, 'r'))).toBe(wpid);

    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    const lines = logLines(join(dir, 'r/log/main'));
    expect(checkStorm(lines, join(dir, 'r/progress')).pids).toBe(1);
    expect(lines.filter((l) => / END \d+$/.test(l))).toHaveLength(1);
    expect(readFileSync(join(dir, 'r/pids'), 'latin1').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(dir, 'r/logger-pids'), 'latin1').trim().split('\n')).toHaveLength(2);
  }, 30_000);

  itWithPeer(['multilog'])('and if the service dies too, the pipe is taken from the read end loghost holds: every line of the dead writer is logged', async () => {
    const { dir, wpid, host, progress } = await blockedWriter();
    process.kill(wpid, 'SIGKILL');
    await waitFor(() => !running(wpid), 'the writer dead');
    const written = progress();
    expect(logLines(join(dir, 'r/log/main')).length).toBeLessThan(written); // the rest is in the pipe, held by loghost only
    const second = startScan(dir);
    await waitFor(() => logLines(join(dir, 'r/log/main')).some((l) => l === `${wpid} ${written}`), 'the last line of the dead writer logged');
    await waitFor(() => !running(host), 'the old loghost gone');
    const w2 = await waitFor(() => statusPid(join(dir, 'r')) !== wpid && statusPid(join(dir, 'r')), 'a new writer');
    track(w2);
    await waitFor(() => logLines(join(dir, 'r/log/main')).some((l) => l.startsWith(`${w2} `)), 'the new writer logging');
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(checkStorm(logLines(join(dir, 'r/log/main')), join(dir, 'r/progress')).pids).toBe(2);
  }, 30_000);
});

// The socket is on fd 3 (LISTEN_FDS), or on $FD where the run script moved it.
const SERVER = `import net from 'node:net';
if (process.env.LISTEN_FDS !== '1' || process.env.LISTEN_PID !== String(process.pid)) process.exit(1);
const s = net.createServer((c) => c.end(process.pid + '\\n')).listen({ fd: Number(process.env.FD ?? 3) });
process.on('SIGTERM', () => s.close(() => process.exit(0)));
`;

/** One connection: the reply line, or the error code. */
function ask(port: number): Promise<string> {
  return new Promise((r) => {
    const c = createConnection(port, '127.0.0.1');
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (t: string) => (buf += t));
    c.on('end', () => r(buf.trim()));
    c.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
  });
}

/** utime + stime of PID, in clock ticks. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').slice(readFileSync(`/proc/${pid}/stat`, 'latin1').lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.startsWith('socket:')) out.add(l);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Starts svscan on a tree with `web` (a TCP server on a held socket), SIGKILLs it, starts a second one. */
async function webTakeover(run: string): Promise<{ dir: string; port: number; pid1: number; second: ReturnType<typeof startScan> }> {
  const dir = tree();
  const port = await freePort();
  files(dir, { 'web/server.mjs': SERVER, 'web/run': run, 'web/listen': `tcp:127.0.0.1:${port}\n` });
  const first = startScan(dir);
  const pid1 = Number((await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web', 'web started')).pid);
  track(pid1);
  expect(await ask(port)).toBe(String(pid1));
  await waitFor(() => readState(join(dir, '.upkeep'))?.services.web?.run?.pid === pid1, 'the state file');
  first.proc.kill('SIGKILL');
  await first.exited;
  expect(await ask(port)).toBe(String(pid1)); // served while no svscan runs
  const second = startScan(dir);
  await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'web' && /adopted web \(pid/.test(String(e.msg)), 'web adopted');
  return { dir, port, pid1, second };
}

describe('svscan takeover: held listening sockets (listen)', () => {
  it('the socket is taken back from the adopted service (pidfd_getfd): its death and restart refuse no connection', async () => {
    const { dir, port, pid1, second } = await webTakeover(`#!/bin/sh\nLISTEN_PID=$$ exec ${process.execPath} server.mjs\n`);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'web' && /took tcp:127\.0\.0\.1:\d+ back from the adopted web/.test(String(e.msg)), 'the socket taken back');
    // the new svscan holds the very socket the adopted service listens on
    expect(socketInodes(second.proc.pid!).has(readlinkSync(`/proc/${pid1}/fd/3`))).toBe(true);
    let stop = false;
    const results: string[] = [];
    const hammer = async (): Promise<void> => {
      while (!stop) results.push(await ask(port));
    };
    const workers = Array.from({ length: 4 }, () => hammer());
    await waitFor(() => results.length > 20, 'connections served');
    process.kill(pid1, 'SIGTERM');
    const pid2 = Number((await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web' && e.pid !== pid1, 'the next instance')).pid);
    track(pid2);
    await waitFor(() => results.filter((r) => r === String(pid2)).length > 20, 'connections served by the next instance');
    stop = true;
    await Promise.all(workers);
    expect(results.filter((r) => r !== String(pid1) && r !== String(pid2))).toEqual([]); // no ECONNREFUSED, nothing else
    expect(socketInodes(second.proc.pid!).has(readlinkSync(`/proc/${pid2}/fd/3`))).toBe(true);
    expect(second.stderr()).not.toContain('address already in use');
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 30_000);

  it('where it cannot be taken back, the adopted service keeps serving; once it exits, the new svscan listens again and starts the next instance with the held socket', async () => {
    // The run script moves the socket from fd 3 to fd 5: fd 3 of the adopted process is no socket to take.
    const { dir, port, pid1, second } = await webTakeover(`#!/bin/sh\nexec 5<&3 3<&-\nFD=5 LISTEN_PID=$$ exec ${process.execPath} server.mjs\n`);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'web' && /address already in use: the adopted web/.test(String(e.msg)), 'the wait for the socket');
    expect(await ask(port)).toBe(String(pid1)); // the adopted one goes on serving
    // waiting costs nothing: no busy loop (a spin would take ~100 ticks a second)
    const t0 = cpuTicks(second.proc.pid!);
    await new Promise((r) => setTimeout(r, 1000));
    expect(cpuTicks(second.proc.pid!) - t0).toBeLessThan(15);

    process.kill(pid1, 'SIGTERM');
    const pid2 = Number((await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web' && e.pid !== pid1, 'the next instance')).pid);
    track(pid2);
    expect(await ask(port)).toBe(String(pid2));
    // its socket is the one the new svscan holds (so restarts refuse no connection again)
    expect(socketInodes(second.proc.pid!).has(readlinkSync(`/proc/${pid2}/fd/5`))).toBe(true);
    expect(journal(dir).some((e) => e.event === 'warning' && e.service === 'web' && /listening again/.test(String(e.msg)))).toBe(true);
    // one warning line while waiting
    expect(second.stderr().split('\n').filter((l) => l.includes('address already in use'))).toHaveLength(1);
    expect(second.proc.exitCode).toBe(null);
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 30_000);
});

describe('svscan takeover: what the killed svscan was told', () => {
  it('a service stopped with svc -d stays down, one told svc -o is adopted and not restarted after its exit', async () => {
    const dir = tree();
    const run = '#!/bin/sh\necho $$ >> pids\nexec sleep 1000\n';
    files(dir, { 'a/run': run, 'b/run': run });
    const first = startScan(dir);
    await waitFor(() => statusPid(join(dir, 'a')) && statusPid(join(dir, 'b')), 'both up');
    const bpid = statusPid(join(dir, 'b'));
    track(bpid);
    expect((await upkeep(['svc', '-d', join(dir, 'a')])).code).toBe(0);
    expect((await upkeep(['svc', '-o', join(dir, 'b')])).code).toBe(0);
    await waitFor(() => {
      const st = readState(join(dir, '.upkeep'));
      return st?.services.a?.want === 'down' && st.services.a.run === undefined && st.services.b?.want === 'once';
    }, 'the wants in the state file');
    first.proc.kill('SIGKILL');
    await first.exited;

    const second = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'b' && /adopted b \(pid/.test(String(e.msg)), 'b adopted');
    await waitEvent(dir, (e) => e.event === 'add' && e.service === 'a' && journal(dir).filter((x) => x.event === 'supervisor-start').length === 2, 'a taken up again');
    const svstat = await upkeep(['svstat', join(dir, 'a'), join(dir, 'b')]);
    expect(svstat.stdout.toString().replace(/\d+ seconds/g, 'N seconds')).toBe(`${dir}/a: down N seconds, normally up\n${dir}/b: up (pid ${bpid}) N seconds\n`);
    process.kill(bpid, 'SIGTERM');
    const exit = await waitEvent(dir, (e) => e.event === 'exit' && e.service === 'b' && e.adopted === true, 'b exited');
    // its uptime counts from its real start (under the first svscan), not from its adoption
    const started = journal(dir).find((e) => e.event === 'start' && e.service === 'b')!;
    expect(Number(exit.uptime)).toBeGreaterThan((Date.parse(String(exit.time)) - Date.parse(String(started.time))) / 1000 - 0.05);
    await waitFor(() => statusPid(join(dir, 'b')) === 0, 'b down');
    // a never started again, b not restarted: one pid each
    for (const s of ['a', 'b']) expect(readFileSync(join(dir, s, 'pids'), 'latin1').trim().split('\n')).toHaveLength(1);
    expect(journal(dir).filter((e) => e.event === 'start')).toHaveLength(2); // both by the first svscan
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 30_000);
});

describe('svscan takeover: shared pipes (pipes)', () => {
  it('the shared pipe is taken back from the adopted services: a writer restarted by the new svscan reaches the adopted reader, every line once', async () => {
    const dir = tree();
    files(dir, {
      'w/writer.mjs': WRITER,
      'w/run': `#!/bin/sh\nexec ${process.execPath} writer.mjs >&3\n`,
      'w/pipes': 'write p1\n',
      'c/run': '#!/bin/sh\nexec cat <&3 >> out\n',
      'c/pipes': 'read p1\n',
    });
    const out = (): string[] => (existsSync(join(dir, 'c/out')) ? readFileSync(join(dir, 'c/out'), 'latin1').split('\n').filter(Boolean) : []);
    const first = startScan(dir);
    await waitFor(() => out().length > 200, 'lines through the shared pipe');
    const wpid = statusPid(join(dir, 'w'));
    const cpid = statusPid(join(dir, 'c'));
    track(wpid);
    track(cpid);
    await waitFor(() => {
      const st = readState(join(dir, '.upkeep'));
      return st?.services.w?.run?.pid === wpid && st.services.c?.run?.pid === cpid;
    }, 'the state file');
    first.proc.kill('SIGKILL');
    await first.exited;

    const second = startScan(dir);
    await waitEvent(dir, (e) => e.event === 'warning' && /took the shared pipe p1 back from the adopted/.test(String(e.msg)), 'the pipe taken back');
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'c' && /adopted c \(pid/.test(String(e.msg)), 'c adopted');
    process.kill(wpid, 'SIGKILL');
    const w2 = Number((await waitEvent(dir, (e) => e.event === 'start' && e.service === 'w' && e.pid !== wpid, 'w restarted')).pid);
    track(w2);
    // every line of both writers reaches the adopted reader, in order, once
    await waitFor(() => {
      const lines = out();
      if (!lines.some((l) => l.startsWith(`${w2} `) && Number(l.split(' ')[1]) > 300)) return false;
      try {
        return checkStorm(lines, join(dir, 'w/progress')).pids === 2;
      } catch {
        return false;
      }
    }, 'the lines of the killed writer and of its successor, all in the adopted reader');
    expect(statusPid(join(dir, 'c'))).toBe(cpid);
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 30_000);
});
