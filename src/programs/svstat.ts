// `svstat dir ...`: one status line per directory, daemontools-exact; exit 0.
import { closeSync, constants as C, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, EXIT } from '../core/errors.js';
import { formatSvstat, STATUS_SIZE, unpackStatus } from '../core/status.js';
import { checkChdir, serviceDirArg, takeDirOption } from '../io/svname.js';

export const HELP = `usage: svstat [--json] [--dir TREE] dir ...

Prints one line per service directory, as daemontools' svstat:

  dir: up (pid PID) SECS seconds[, normally down][, paused][, want down]
  dir: down SECS seconds[, normally up][, want up]
  dir: supervise not running

SECS counts from the last time the pid changed. --json prints one JSON object per line instead: state,
pid, seconds, normallyUp, paused, want, and under upkeep svscan restarts, lastExit {pid, code, signal,
uptime, at}, backoff {delay, deaths, until}, readyAt and source (dir, or runtime for a service added with
upkeep ctl add). With --dir TREE and no dir: every service of TREE, run-time ones last. A dir that does not exist here and has no '/' is
a service NAME in --dir TREE, else $SVDIR, else /service. Works against upkeep supervise and daemontools' supervise.
exit codes: 0.
`;

export async function main(argv: string[]): Promise<number> {
  let json = false;
  let tree: string | undefined;
  let args = argv;
  for (;;) {
    if (args[0] === '--json') {
      json = true;
      args = args.slice(1);
      continue;
    }
    const d = takeDirOption(args);
    if (d.dir === undefined) break;
    tree = d.dir;
    args = d.rest;
  }
  const lines: string[] = [];
  // `svstat --dir TREE` alone: every service of the tree, those added at run time included (listed last)
  if (args.length === 0 && tree !== undefined) args = treeServices(tree);
  for (const arg of args) {
    const dir = serviceDirArg(arg, tree);
    lines.push(json ? `${JSON.stringify(jsonStatus(arg, dir))}\n` : `${dir}: ${statusLine(dir)}\n`);
  }
  process.stdout.write(lines.join(''));
  return EXIT.OK;
}

/**
 * --json: one object per line: daemontools' fields (state, pid, seconds, normallyUp, paused, want) and,
 * for services under upkeep svscan, its supervise/upkeep.json: restarts, lastExit (code or signal, uptime
 * in seconds, at = UNIX seconds), backoff (delay, deaths, until) and readyAt.
 */
function jsonStatus(arg: string, dir: string): Record<string, unknown> {
  const line = statusLine(dir);
  const out: Record<string, unknown> = { service: arg, dir, source: /(^|\/)\.upkeep\/runtime\/[^/]+\/?$/.test(dir) ? 'runtime' : 'dir' };
  const m = /^(up|down) (?:\(pid (\d+)\) )?(\d+) seconds(.*)$/.exec(line);
  if (!m) {
    out.state = line === 'supervise not running' ? 'not running' : 'error';
    if (out.state === 'error') out.error = line;
    return out;
  }
  const rest = m[4]!;
  out.state = m[1];
  out.pid = m[2] ? Number(m[2]) : null;
  out.seconds = Number(m[3]);
  out.normallyUp = m[1] === 'up' ? !rest.includes('normally down') : rest.includes('normally up');
  out.paused = rest.includes(', paused');
  out.want = rest.includes('want up') ? 'up' : rest.includes('want down') ? 'down' : m[1];
  let extra: Record<string, unknown> = { restarts: null, lastExit: null, backoff: null, readyAt: null };
  try {
    extra = { ...extra, ...(JSON.parse(readFileSync(join(dir, 'supervise/upkeep.json'), 'utf8')) as Record<string, unknown>) };
  } catch {
    /* not under upkeep svscan (or nothing happened yet) */
  }
  return { ...out, ...extra };
}

/** The service names of a tree: its entries (as svscan scans them), then those added at run time. */
function treeServices(tree: string): string[] {
  const names = (d: string, dirsOnly: boolean): string[] => {
    try {
      return readdirSync(d, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (!dirsOnly && e.isSymbolicLink())))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  };
  const own = names(tree, false);
  return [...own, ...names(join(tree, '.upkeep', 'runtime'), true).filter((n) => !own.includes(n))];
}

function statusLine(dir: string): string {
  try {
    checkChdir(dir);
  } catch (err) {
    return `unable to chdir: ${describeError(err)}`;
  }
  let normallyUp = false;
  try {
    statSync(join(dir, 'down'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `unable to stat down: ${describeError(err)}`;
    normallyUp = true;
  }
  try {
    closeSync(openSync(join(dir, 'supervise/ok'), C.O_WRONLY | C.O_NONBLOCK));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return 'supervise not running';
    return `unable to open supervise/ok: ${describeError(err)}`;
  }
  const buf = Buffer.alloc(STATUS_SIZE);
  let fd: number;
  try {
    fd = openSync(join(dir, 'supervise/status'), C.O_RDONLY | C.O_NONBLOCK);
  } catch (err) {
    return `unable to open supervise/status: ${describeError(err)}`;
  }
  let n: number;
  try {
    n = readSync(fd, buf, 0, STATUS_SIZE, null);
  } catch (err) {
    return `unable to read supervise/status: ${describeError(err)}`;
  } finally {
    closeSync(fd);
  }
  const status = n === STATUS_SIZE ? unpackStatus(buf) : null;
  if (status === null) return 'unable to read supervise/status: bad format';
  return formatSvstat(status, normallyUp, BigInt(Math.floor(Date.now() / 1000)));
}
