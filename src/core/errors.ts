// Exit codes and error shapes shared by every program (daemontools conventions: 100 usage, 111 system).
// Pure: no process, no fs. The CLI layer turns these into stderr lines and exit codes.

export const EXIT = {
  OK: 0,
  FINDINGS: 1,
  USAGE: 100,
  INTERNAL: 101,
  TEMP: 111,
} as const;

// djb's own error texts (not strerror): what daemontools prints after "...: ".
const DJB_TEXT: Record<string, string> = {
  ENOENT: 'file does not exist',
  EAGAIN: 'temporary failure',
  EWOULDBLOCK: 'temporary failure',
  ENXIO: 'device not configured',
  ENOSPC: 'out of disk space',
  EACCES: 'access denied',
  EPERM: 'permission denied',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file already exists',
  EIO: 'input/output error',
  EINTR: 'interrupted system call',
  ENOMEM: 'out of memory',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'process cannot open more files',
  ENFILE: 'system cannot open more files',
  EPIPE: 'broken pipe',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'symbolic link loop',
  EBUSY: 'device busy',
  ETXTBSY: 'text busy',
  EBADF: 'file descriptor not open',
  ECHILD: 'no child processes',
  EINVAL: 'invalid argument',
  ESRCH: 'no such process',
  ENOEXEC: 'exec format error',
  ENOTEMPTY: 'directory not empty',
  EXDEV: 'cross-device link',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
};

/** The djb-style text for an errno code name (e.g. 'ENOENT'), or the code itself when unknown. */
export function errText(code: string | undefined, fallback?: string): string {
  if (code !== undefined && DJB_TEXT[code] !== undefined) return DJB_TEXT[code];
  return fallback ?? code ?? 'unknown error';
}

/** Text for any thrown value: djb text for errno errors, else the message. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && DJB_TEXT[e.code] !== undefined) return DJB_TEXT[e.code]!;
    if (typeof e.message === 'string') return e.message;
  }
  return String(err);
}

/** A usage error: the program prints its usage line and exits 100. */
export class UsageError extends Error {
  readonly exitCode = EXIT.USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A fatal error: "<prog>: fatal: unable to <verb> <object>: <reason>", exit 111 by default.
 * `action` is "unable to lock directory ./main"; the reason comes from `cause`.
 */
export class FatalError extends Error {
  readonly exitCode: number;
  constructor(readonly action: string, reason?: unknown, exitCode: number = EXIT.TEMP) {
    super(reason === undefined ? action : `${action}: ${describeError(reason)}`, { cause: reason });
    this.name = 'FatalError';
    this.exitCode = exitCode;
  }
}
