// Controller services (issue 6): a service with a `controller` file reads the event stream on its stdin and
// writes commands on its stdout; restarted after a crash, it gets the snapshot again, and the services it
// manages keep running meanwhile. Plus `svscan --commands FILE|-`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { socketPath } from '../../src/io/control-socket.js';
import { tmpdir, upkeep, UPKEEP, waitFor, which } from '../helpers/index.js';
import { alive, files, journal, startScan, statusPid, track, tree, waitEvent } from './svscan-helpers.js';

const seen = (dir: string): string[] => (existsSync(dir) ? readFileSync(dir, 'utf8').split('\n').filter(Boolean) : []);

// A shell controller: keeps `worker` up (it is marked down in its directory), records every line it reads.
const SH_CONTROLLER = `#!/bin/sh
while IFS= read -r line; do
  printf '%s\\n' "$line" >> seen
  case "$line" in
    sync*) echo "up worker" ;;
  esac
done
`;

// A Python controller: after each snapshot, adds the run-time service py-child unless the snapshot already
// has it (its resynchronisation), and records the replies it gets.
const PY_CONTROLLER = `import sys
have = False
for line in sys.stdin:
    f = line.rstrip('\\n').split('\\t')
    with open('seen', 'a') as out:
        out.write(line)
    if f[0] == 'state' and f[1] == 'py-child':
        have = True
    elif f[0] == 'sync':
        if not have:
            print('add py-child -- sleep 1000', flush=True)
        print('status py-child', flush=True)
`;

describe('controller services', () => {
  it('a shell controller gets the snapshot, starts a service; killed, it is restarted and resynchronised while the service keeps running', async () => {
    const dir = tree();
    files(dir, {
      'worker/run': '#!/bin/sh\nexec sleep 1000\n',
      'worker/down': '',
      'ctl/run': SH_CONTROLLER,
      'ctl/controller': '',
    });
    startScan(dir);
    const w = await waitEvent(dir, (e) => e.event === 'start' && e.service === 'worker', 'the controller started worker');
    const wpid = Number(w.pid);
    const log = join(dir, 'ctl/seen');
    await waitFor(() => seen(log).some((l) => l.startsWith('ok\tup\tworker\t')), 'the reply on the controller stdin');
    const first = seen(log);
    expect(first.findIndex((l) => l.startsWith('sync\t'))).toBeGreaterThan(0);
    expect(first.some((l) => /^state\tworker\t[\d.]+\tstate=down\twant=down\tpid=0\t/.test(l))).toBe(true);
    expect(first.some((l) => l.startsWith(`start\tworker\t`) && l.includes(`pid=${wpid}`))).toBe(true);

    const cpid = statusPid(join(dir, 'ctl'));
    expect(cpid).toBeGreaterThan(0);
    const k = await upkeep(['ctl', '--dir', dir, 'signal', 'ctl', 'KILL']);
    expect(k.code).toBe(0);
    await waitFor(() => seen(log).filter((l) => l.startsWith('sync\t')).length === 2, 'the second snapshot', 15_000);
    const after = seen(log);
    const second = after.slice(after.findIndex((l, i) => i >= first.length && l.startsWith('state\t')));
    // the new incarnation starts from the snapshot: worker up, same pid
    expect(second.some((l) => l.startsWith('state\tworker\t') && l.includes(`\tstate=up\twant=up\tpid=${wpid}\t`))).toBe(true);
    expect(statusPid(join(dir, 'ctl'))).not.toBe(cpid);
    expect(statusPid(join(dir, 'worker'))).toBe(wpid);
    expect(alive(wpid)).toBe(true);
    expect(journal(dir).filter((e) => e.event === 'start' && e.service === 'worker')).toHaveLength(1);
    await waitEvent(dir, (e) => e.event === 'exit' && e.service === 'ctl' && e.signal === 'SIGKILL', 'the controller\'s death in the journal');
    // the journal names the controller (and its pid) as the sender of what it asked
    await waitEvent(dir, (e) => e.event === 'control' && e.service === 'worker' && e.via === 'controller' && e.sender === `controller ctl pid ${cpid}`, 'the controller as sender');
  }, 30_000);

  it.runIf(which('python3') !== undefined)('a Python controller adds a run-time service once, and after a crash finds it in the snapshot', async () => {
    const dir = tree();
    files(dir, { 'py/run': '#!/bin/sh\nexec python3 -u controller.py\n', 'py/controller.py': PY_CONTROLLER, 'py/controller': '' });
    startScan(dir);
    const add = await waitEvent(dir, (e) => e.event === 'start' && e.service === 'py-child', 'py-child added by the controller');
    const log = join(dir, 'py/seen');
    await waitFor(() => seen(log).some((l) => /^ok\tstatus\tpy-child\t1 service$/.test(l)), 'the status reply');
    expect(seen(log).some((l) => /^ok\tadd\tpy-child\tadded, pid \d+$/.test(l))).toBe(true);
    const st = await upkeep(['ctl', '--dir', dir, 'status', 'py-child']);
    expect(st.stdout.toString()).toMatch(/\tsource=runtime\t/);

    await upkeep(['ctl', '--dir', dir, 'signal', 'py', 'TERM']);
    await waitFor(() => seen(log).filter((l) => l.startsWith('sync\t')).length === 2, 'the second snapshot', 15_000);
    await waitFor(() => seen(log).filter((l) => l.startsWith('ok\tstatus\tpy-child')).length === 2, 'the second status reply');
    expect(seen(log).filter((l) => l.startsWith('ok\tadd\t'))).toHaveLength(1); // not added twice
    expect(seen(log).some((l) => l.startsWith('error\t'))).toBe(false);
    expect(journal(dir).filter((e) => e.event === 'start' && e.service === 'py-child')).toHaveLength(1);
    expect(alive(Number(add.pid))).toBe(true);
  }, 30_000);
});

describe('a controller that stops reading', () => {
  it('is stopped when its events overflow, and restarted with a new snapshot', async () => {
    const dir = tree();
    files(dir, {
      // reads the snapshot, records it, then never reads again (the first time only)
      'lazy/run': '#!/bin/sh\nwhile IFS= read -r l; do echo "$l" >> seen; case "$l" in sync*) break;; esac; done\nif [ -e once ]; then exec cat > /dev/null; fi\ntouch once\nexec sleep 1000\n',
      'lazy/controller': '',
      'lazy/min-uptime': '0\n',
      'web/run': '#!/bin/sh\nexec sleep 1000\n',
    });
    startScan(dir, ['--scan-interval', '1', '--events-buffer', '4096']);
    await waitEvent(dir, (e) => e.event === 'start' && e.service === 'web', 'web started');
    const log = join(dir, 'lazy/seen');
    await waitFor(() => seen(log).some((l) => l.startsWith('sync\t')), 'the first snapshot');
    const first = statusPid(join(dir, 'lazy'));
    const sock = socketPath(join(dir, '.upkeep'));
    const { createConnection } = await import('node:net');
    const c = createConnection(sock);
    let replies = 0;
    c.setEncoding('utf8');
    c.on('data', (t: string) => (replies += t.split('\n').length - 1));
    c.write(Array(12_000).fill('signal web CONT\n').join(''));
    await waitEvent(dir, (e) => e.event === 'warning' && e.service === 'lazy' && String(e.msg).includes('stopping it'), 'the controller stopped', 60_000);
    await waitFor(() => seen(log).filter((l) => l.startsWith('sync\t')).length === 2, 'the second snapshot', 15_000);
    expect(statusPid(join(dir, 'lazy'))).not.toBe(first);
    await waitFor(() => replies >= 12_000, 'every reply', 60_000);
    c.destroy();
  }, 90_000);
});

describe('svscan --commands', () => {
  it('declares services from a file: no directory, commands run in order, a bad line is a warning', async () => {
    const dir = tree();
    const work = tmpdir('upkeep-cmds-');
    const cmds = join(work, 'services.cmd');
    writeFileSync(
      cmds,
      [
        '# services of this box',
        `add hello --cwd ${work} -- sh -c 'echo "hello $WHO" > hello.out; exec sleep 1000'`,
        'add lazy --down -- sleep 1000',
        'frobnicate',
        'once lazy',
        '',
      ].join('\n'),
    );
    const s = startScan(dir, ['--scan-interval', '1', '--commands', cmds]);
    await waitEvent(dir, (e) => e.event === 'start' && e.service === 'lazy', 'lazy started by once');
    await waitFor(() => existsSync(join(work, 'hello.out')), 'hello ran');
    expect(readFileSync(join(work, 'hello.out'), 'utf8')).toBe('hello \n');
    expect(s.stderr()).toContain(`svscan: warning: ${cmds}:4: frobnicate: unknown command: frobnicate`);
    const st = await upkeep(['ctl', '--dir', dir, 'status']);
    expect(st.stdout.toString()).toMatch(/^state\thello\t.*source=runtime.*\nstate\tlazy\t[\d.]+\tstate=up\twant=once\t.*source=runtime/);
    // stop the tree: `hello` runs in a directory outside it, where the per-tree cleanup does not look
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('reads commands from stdin (-) as they come', async () => {
    const dir = tree();
    const p = spawn(UPKEEP, ['svscan', '--scan-interval', '1', '--commands', '-', dir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    track(p.pid!);
    try {
      p.stdin!.write('add one -- sleep 1000\n');
      await waitEvent(dir, (e) => e.event === 'start' && e.service === 'one', 'one started');
      await waitFor(() => existsSync(socketPath(join(dir, '.upkeep'))), 'the socket');
      p.stdin!.write('add two -- sleep 1000\n');
      await waitEvent(dir, (e) => e.event === 'start' && e.service === 'two', 'two started');
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
      expect(journal(dir).some((e) => e.event === 'supervisor-stop')).toBe(true);
      expect(existsSync(join(dir, '.upkeep/runtime'))).toBe(false);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });
});
