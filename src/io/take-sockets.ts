// Takeover of held listening sockets (io/held-fds.ts): the previous svscan, killed, took its copy of each
// socket with it, and the adopted service still has its own as fd 3, 4, ... Binding the address again
// fails while it lives, so svscan takes that very socket back from the service with pidfd_getfd(2)
// (Linux 5.6 and later; the caller needs ptrace rights over the process: root, or CAP_SYS_PTRACE).
//
// Node has neither pidfd_getfd nor any way to receive an fd but its IPC channel (node-facts.md). So a
// short-lived helper does it: perl (Debian's perl-base, which is essential) calls pidfd_open and
// pidfd_getfd through syscall(), clears close-on-exec, and execs a tiny node that sends each fd back over
// the IPC channel as a raw handle (`net.Native`: never listened on here, so svscan accepts nothing).
// Every fd received is checked: a listening socket of the spec's port or path, else it is closed.
// Anything missing (no perl, an older kernel, no right, a service that moved its fds) leaves the caller
// to bind the address again once the service has exited (io/tree.ts, Rebind).
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { RawHandle } from './held-fds.js';

// pidfd_open = 434, pidfd_getfd = 438: the same number on every architecture that has them.
const PERL = `
use strict; use Fcntl;
my ($pid, @fds) = @ARGV;
my $pidfd = syscall(434, $pid + 0, 0);
die "pidfd_open: $!\\n" if $pidfd < 0;
my (@mine, @keep);
for my $fd (@fds) {
  my $n = syscall(438, $pidfd, $fd + 0, 0);
  if ($n < 0) { push @mine, -1; next; }
  open(my $fh, '+<&=', $n) or die "fdopen: $!\\n";
  fcntl($fh, F_SETFD, 0) or die "fcntl: $!\\n";
  push @keep, $fh;
  push @mine, $n;
}
exec($ENV{UPKEEP_NODE}, '-e', $ENV{UPKEEP_SEND}, @mine) or die "exec: $!\\n";
`;

const SEND = `const { TCP, constants } = process.binding('tcp_wrap');
const fds = process.argv.slice(1).map(Number);
let i = 0;
const next = () => {
  if (i === fds.length) return process.disconnect();
  const at = i++;
  const h = new TCP(constants.SERVER);
  if (fds[at] < 0 || h.open(fds[at]) !== 0) return next();
  process.send({ i: at }, h, {}, next);
};
next();`;

/** How long the helper may take before it is killed (its fds are then lost, not leaked: it dies). */
const TAKE_TIMEOUT_MS = 5000;

/**
 * The sockets that process PID has as fds 3, 4, ... (one per spec, in order), each checked to be a
 * listening socket of its spec; undefined where it could not be taken.
 */
export function takeListening(pid: number, specs: string[]): Promise<(RawHandle | undefined)[]> {
  const out: (RawHandle | undefined)[] = specs.map(() => undefined);
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('perl', ['-e', PERL, String(pid), ...specs.map((_, i) => String(3 + i))], {
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', UPKEEP_NODE: process.execPath, UPKEEP_SEND: SEND },
      });
    } catch {
      resolve(out);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), TAKE_TIMEOUT_MS);
    child.on('message', (msg, handle) => {
      const m = msg as { i?: number };
      const h = handle as unknown as RawHandle | undefined;
      if (!h) return;
      const i = m.i;
      if (typeof i === 'number' && i >= 0 && i < specs.length && out[i] === undefined && isListening(h, specs[i]!)) out[i] = h;
      else h.close();
    });
    child.on('error', () => {});
    child.once('close', () => {
      // after the IPC channel has closed: every message has been delivered
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** The fd is a listening socket of SPEC (`tcp:HOST:PORT`: that port; `unix:/PATH`: that path). */
function isListening(h: RawHandle, spec: string): boolean {
  let inode: string;
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${h.fd}`));
    if (!m) return false;
    inode = m[1]!;
  } catch {
    return false;
  }
  const tcp = /^tcp:.+:(\d+)$/.exec(spec);
  if (tcp) {
    const port = Number(tcp[1]).toString(16).toUpperCase().padStart(4, '0');
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readLines(f)) {
        const c = line.trim().split(/\s+/);
        // sl local rem st ... inode(9): state 0A = LISTEN
        if (c[9] === inode && c[3] === '0A' && c[1]?.endsWith(`:${port}`)) return true;
      }
    }
    return false;
  }
  if (spec.startsWith('unix:/')) {
    for (const line of readLines('/proc/net/unix')) {
      const c = line.trim().split(/\s+/);
      // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = accepting connections
      if (c[6] === inode && (parseInt(c[3] ?? '0', 16) & 0x10000) !== 0 && c[7] === spec.slice(5)) return true;
    }
  }
  return false;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'latin1').split('\n').slice(1);
  } catch {
    return [];
  }
}
