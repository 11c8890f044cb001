// `upkeep svscan [DIR]`: one process supervising every service directory of DIR (io/tree.ts), with the
// restart journal under DIR/.upkeep/, a lock against a second svscan, a periodic scan and one on SIGHUP.
import { closeSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:net';
import { describeError, EXIT, FatalError, UsageError } from '../core/errors.js';
import { listenControl, type Reply } from '../io/control-socket.js';
import { ControlPlane } from '../io/control-plane.js';
import { HeldFds } from '../io/held-fds.js';
import { readCommands } from '../io/commands-input.js';
import { wallClock } from '../io/clock.js';
import { lockSync } from '../io/flock.js';
import { openJournal } from '../io/journal.js';
import { procAlive } from '../io/proc.js';
import { readState, type TreeState } from '../io/state.js';
import { LogHostClient } from '../io/loghost-client.js';
import { checkChdir } from '../io/svdir.js';
import { Tree } from '../io/tree.js';

export const DEFAULT_SCAN_SECONDS = 5;

export const HELP = `usage: svscan [--scan-interval SECONDS] [--commands FILE|-] [--events-buffer BYTES] [dir]

Supervises every service directory in dir (default: the current directory) in one process: each entry
whose name does not start with '.' and that is a directory or a symlink to one. A service is known by its
name: repointing its symlink restarts it in the new target, and its logger follows it (see upkeep-deploy(8)).

  dir/NAME/run            started in dir/NAME with a clean environment (PATH only) plus NAME/env/
  dir/NAME/finish         run after each exit: ./finish EXITCODE|256 SIGNUM NAME (killed after timeout-finish)
  dir/NAME/log/run        NAME's logger, a supervised process reading NAME's output on its stdin
  dir/NAME/log/script     or: one multilog action per line, run in upkeep's shared logger process
  dir/NAME/supervise/     lock, control, ok, status: daemontools' svc, svstat and svok work unchanged
  dir/.upkeep/            lock, journal.jsonl (the restart journal), state.json (for a takeover),
                          control.sock: the command socket (upkeep ctl, events, wait, deploy, rollback;
                          at /tmp/upkeep-UID/HASH.sock when that path is too long for a socket)

Setting files in a service directory (see upkeep-svscan(8) for the table): timeout-kill, timeout-finish,
stderr-to-log, user, down, env/, notification-fd, controller, listen (sockets held by svscan, fds 3..,
LISTEN_FDS), pipes (read|write NAME: pipes shared between services); in log/: script, no-exit-notes.

  --scan-interval SECONDS  scan dir this often (default ${DEFAULT_SCAN_SECONDS}); SIGHUP scans at once
  --commands FILE|-        also run the commands of FILE (or stdin), one a line (docs/commands.md):
                           e.g. 'add NAME -- PROGRAM ARGS...' declares a service that has no directory
  --events-buffer BYTES    drop an event subscriber that leaves this much unread (default 1048576)

A service directory with a 'controller' file is a controller: its stdin is the event stream (a snapshot
first), its stdout is read as commands; the replies come back on its stdin.

An entry missing for two scans in a row is stopped. SIGTERM (or SIGINT): stop every service, let every
logger drain its pipe, exit 0; a second SIGTERM kills the loggers.
exit codes: 0 after SIGTERM, 100 usage, 111 system error (e.g. another svscan holds dir/.upkeep/lock).
`;

const USAGE = 'svscan [--scan-interval SECONDS] [--commands FILE|-] [--events-buffer BYTES] [dir]';

interface Args {
  dir: string;
  intervalMs: number;
  commands?: string;
  eventsBuffer?: number;
}

function parseArgs(args: string[]): Args {
  let dir: string | undefined;
  let seconds = DEFAULT_SCAN_SECONDS;
  let commands: string | undefined;
  let eventsBuffer: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let value: string | undefined;
    if (a === '--commands' || a.startsWith('--commands=')) {
      commands = a === '--commands' ? args[++i] : a.slice('--commands='.length);
      if (commands === undefined || commands === '') throw new UsageError(USAGE);
      continue;
    }
    if (a === '--events-buffer' || a.startsWith('--events-buffer=')) {
      const v = a === '--events-buffer' ? args[++i] : a.slice('--events-buffer='.length);
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 256) throw new UsageError(USAGE);
      eventsBuffer = Number(v);
      continue;
    }
    if (a === '--scan-interval') value = args[++i];
    else if (a.startsWith('--scan-interval=')) value = a.slice('--scan-interval='.length);
    else if (a === '--') {
      dir = args[++i];
      if (i + 1 < args.length) throw new UsageError(USAGE);
      break;
    } else if (a.startsWith('--')) throw new UsageError(USAGE);
    else if (dir === undefined) {
      dir = a;
      continue;
    } else throw new UsageError(USAGE);
    if (value === undefined || !/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
      throw new UsageError(USAGE);
    }
    seconds = Number(value);
  }
  return { dir: dir ?? '.', intervalMs: Math.round(seconds * 1000), commands, eventsBuffer };
}

export async function main(args: string[]): Promise<number> {
  const { dir, intervalMs, commands, eventsBuffer } = parseArgs(args);
  try {
    checkChdir(dir);
  } catch (err) {
    throw new FatalError(`unable to chdir to ${dir}`, err);
  }
  process.stderr.on('error', () => {});
  const state = join(dir, '.upkeep');
  try {
    mkdirSync(state, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new FatalError(`unable to create ${state}`, err);
  }
  let lockFd: number;
  try {
    lockFd = lockSync(join(state, 'lock'), 0o600);
  } catch (err) {
    throw new FatalError(`unable to lock ${state}/lock`, err);
  }
  const clock = wallClock();
  // Every journal event is also published on the command socket (upkeep events, controllers).
  const plane = new ControlPlane({ dir, clock, journal: openJournal(dir, { clock }), peerBuffer: eventsBuffer });
  const journal = plane.journal;
  plane.cleanup(); // generated directories of run-time services of a killed svscan
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const scripts = new LogHostClient({ treeDir: resolve(dir), say, journal });
  const held = new HeldFds(state);
  const tree = new Tree({ dir, journal, clock, say, scripts, held, controller: (name, child) => plane.controller(name, child) });
  plane.tree = tree;
  scripts.onChange = () => tree.loghostChanged();
  journal.write({ event: 'supervisor-start', service: '-', pid: process.pid, dir: resolve(dir), version: await version() });
  const prev = readState(state);
  if (prev) await takeOver(prev, tree, say);

  let terms = 0;
  let resolveStop!: (reason: string) => void;
  const stopRequested = new Promise<string>((r) => (resolveStop = r));
  const onTerm = (sig: string) => (): void => {
    terms++;
    journal.write({ event: 'control', service: '-', command: sig, via: 'signal' });
    if (terms === 1) resolveStop(sig);
    else {
      say('svscan: warning: second stop request: killing the loggers');
      tree.kill();
      scripts.kill();
    }
  };
  const onTermSig = onTerm('SIGTERM');
  const onIntSig = onTerm('SIGINT');
  const onHup = (): void => void tree.scan();
  process.on('SIGTERM', onTermSig);
  process.on('SIGINT', onIntSig);
  process.on('SIGHUP', onHup);
  const timer = setInterval(() => void tree.scan(), intervalMs);
  let server: Server | undefined;
  try {
    await tree.scan();
    try {
      const json = async (r: { op: string; service?: string; target?: string }, sender: string | undefined): Promise<Reply> => {
        if (r.op === 'deploy' && typeof r.service === 'string' && typeof r.target === 'string') {
          return { ok: true, ...(await tree.deployRequest(r.service, r.target, sender)) };
        }
        if (r.op === 'rollback' && typeof r.service === 'string') {
          return { ok: true, ...(await tree.rollbackRequest(r.service, sender)) };
        }
        return { ok: false, error: `unknown request ${JSON.stringify(r.op)}` };
      };
      plane.setJson(json);
      server = (await listenControl(state, (sock) => plane.connection(sock))).server;
    } catch (err) {
      tree.warn('-', `unable to listen on ${state}/control.sock: ${describeError(err)} (deploy and rollback will only repoint links)`);
    }
    if (commands !== undefined) {
      void readCommands(commands, (line) => plane.textLine(line, undefined, 'commands', `commands ${commands === '-' ? 'stdin' : commands}`), (text) => tree.warn('-', text));
    }
    const reason = await stopRequested;
    clearInterval(timer);
    await tree.stop();
    plane.cleanup();
    held.closeAll();
    await scripts.stop();
    journal.write({ event: 'supervisor-stop', service: '-', pid: process.pid, reason });
    await journal.close();
  } finally {
    server?.close();
    if (commands === '-') process.stdin.destroy(); // an open stdin would keep svscan from exiting
    clearInterval(timer);
    process.off('SIGTERM', onTermSig);
    process.off('SIGINT', onIntSig);
    process.off('SIGHUP', onHup);
    closeSync(lockFd);
  }
  return EXIT.OK;
}

/**
 * The previous svscan was killed (we hold the lock): take its pipes and live processes over, then let its
 * loghost finish the line it is in on each pipe and exit before ours starts on the same pipes and logs.
 */
async function takeOver(prev: TreeState, tree: Tree, say: (line: string) => void): Promise<void> {
  tree.takeOver(prev);
  await tree.recoverHeld();
  const h = prev.loghost;
  if (!h || !procAlive(h.pid, h.start)) return;
  try {
    process.kill(h.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + OLD_LOGHOST_WAIT_MS;
  let killed = false;
  // Until it is gone (its log directory locks with it): never two loghosts on one log directory.
  while (procAlive(h.pid, h.start)) {
    if (!killed && Date.now() > deadline) {
      say(`svscan: warning: the previous loghost (pid ${h.pid}) did not finish in ${OLD_LOGHOST_WAIT_MS} ms: killing it`);
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How long the previous loghost gets to finish its lines at a takeover. */
const OLD_LOGHOST_WAIT_MS = 5000;

async function version(): Promise<string> {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
