// The `supervise/` directory of one service, as daemontools 0.76 lays it out: mkdir 0700, an flock on
// `lock`, the `control` FIFO held open for reading (non-blocking, read on the event loop) and for
// writing (so it never reports EOF), the `ok` FIFO held open for reading (its open fd is the liveness
// probe svok/svstat use), and `status` rewritten atomically through `status.new` + rename.
//
// How `control` is read: not through a net.Socket (about 4 KB of PSS each, two per service in svscan) but
// through an inotify watch on the FIFO (fs.watch, about 1.2 KB): Linux's vfs_write() raises IN_MODIFY on a
// FIFO after every write(2) into it (Debian's svc, `echo x > control`), which Node reports as 'change';
// the watcher then reads the O_NONBLOCK fd with readSync until a short read or EAGAIN, on the event loop
// (never the thread pool). The event comes after the bytes are in the pipe, so a short read may stop
// the drain: a write that lands after it raises its own event. Bytes written before the watch existed
// (a writer blocked in open() until our read end appeared) are drained once right after opening. If the
// watch cannot be set up (inotify limits), the FIFO is read through a net.Socket as before.
import { Socket } from 'node:net';
import {
  closeSync,
  constants as C,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  renameSync,
  statSync,
  watch,
  writeSync,
  type FSWatcher,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FatalError } from '../core/errors.js';
import { lockBatched } from './flock-batch.js';
import { mkfifoSync } from './fifo.js';

/** Fails as chdir(2) would on `dir` (ENOENT, ENOTDIR, EACCES), without changing the process's directory. */
// checkChdir lives in svname.ts, so that svc, svstat and svok load no FIFO, lock or socket code at start-up.
export { checkChdir } from './svname.js';

export class SuperviseDir {
  private lockFd = -1;
  private controlWriteFd = -1;
  private okFd = -1;
  private controlFd = -1;
  /** What reads `control`: an inotify watch (see above), or a Socket when no watch could be set up. */
  private control: FSWatcher | Socket | undefined;
  private onBytes: ((bytes: Buffer) => void) | undefined;
  private onError: ((err: Error) => void) | undefined;
  private closed = false;

  /**
   * @param path the service directory (absolute or relative to the process's cwd)
   * @param name how messages name the service directory (daemontools prints the argument as given)
   */
  constructor(
    readonly path: string,
    readonly name: string,
  ) {}

  private file(rel: string): string {
    return join(this.path, 'supervise', rel);
  }

  /** mkdir supervise (a dangling symlink's target is created, as Debian's patch does), then the lock. */
  async lock(): Promise<void> {
    const sup = join(this.path, 'supervise');
    try {
      mkdirSync(sup, 0o700);
    } catch {
      try {
        if (lstatSync(sup).isSymbolicLink()) {
          const target = resolve(dirname(sup), readlinkSync(sup));
          mkdirSync(target, 0o700);
        }
      } catch {
        /* as daemontools: a failed mkdir shows up as a failed lock */
      }
    }
    try {
      this.lockFd = await lockBatched(this.file('lock'), 0o600);
    } catch (err) {
      throw new FatalError(`unable to acquire ${this.name}/supervise/lock`, err);
    }
  }

  /** Creates `control` and opens it: the read end (non-blocking) first, then the write end. */
  openControl(onBytes: (bytes: Buffer) => void, onError: (err: Error) => void): void {
    const path = this.file('control');
    let rfd: number;
    try {
      mkfifoSync(path, 0o600);
      rfd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
    } catch (err) {
      throw new FatalError(`unable to read ${this.name}/supervise/control`, err);
    }
    try {
      this.controlWriteFd = openSync(path, C.O_WRONLY | C.O_NONBLOCK);
    } catch (err) {
      closeSync(rfd);
      throw new FatalError(`unable to write ${this.name}/supervise/control`, err);
    }
    this.controlFd = rfd;
    this.onBytes = onBytes;
    this.onError = onError;
    let watcher: FSWatcher;
    try {
      watcher = watch(path, { persistent: true }, drainControl.bind(this));
    } catch {
      // no inotify watch (max_user_watches reached...): the Socket costs more but reads the same bytes
      this.controlFd = -1;
      const sock = new Socket({ fd: rfd, readable: true, writable: false });
      sock.on('data', onBytes);
      sock.on('error', onError);
      this.control = sock;
      return;
    }
    watcher.on('error', onError);
    this.control = watcher;
    // bytes written before the watch existed; after the caller's synchronous set-up (its first status)
    setImmediate(drainControl.bind(this));
  }

  /** Reads every byte waiting in `control` and hands them over (see the file's comment). */
  drainControl(): void {
    while (this.controlFd >= 0) {
      let n: number;
      try {
        n = readSync(this.controlFd, scratch, 0, scratch.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
        this.onError?.(err as Error);
        return;
      }
      // 0 (EOF) cannot happen while we hold the write end; guard anyway against a busy loop
      if (n === 0) return;
      this.onBytes?.(Buffer.from(scratch.subarray(0, n)));
      if (n < scratch.length) return;
    }
  }

  /** Creates `ok` and holds it open for reading: from now on svok succeeds. No Socket: nobody writes. */
  openOk(): void {
    const path = this.file('ok');
    try {
      mkfifoSync(path, 0o600);
      this.okFd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
    } catch (err) {
      throw new FatalError(`unable to read ${this.name}/supervise/ok`, err);
    }
  }

  /**
   * Writes `status.new` and renames it to `status` (daemontools' announce()). Synchronous on purpose: 18
   * bytes on a local file, and two announcements must never overtake each other. Returns the warning
   * text (without the program prefix) when it failed; the supervisor carries on, as daemontools does.
   */
  writeStatus(bytes: Uint8Array): string | undefined {
    const tmp = this.file('status.new');
    let fd: number;
    try {
      fd = openSync(tmp, C.O_WRONLY | C.O_NONBLOCK | C.O_TRUNC | C.O_CREAT, 0o644);
    } catch (err) {
      return warning(`unable to open ${this.name}/supervise/status.new`, err);
    }
    try {
      const n = writeSync(fd, bytes);
      if (n !== bytes.length) return `unable to write ${this.name}/supervise/status.new: partial write`;
    } catch (err) {
      return warning(`unable to write ${this.name}/supervise/status.new`, err);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.file('status'));
    } catch (err) {
      return warning(`unable to rename ${this.name}/supervise/status.new to status`, err);
    }
    return undefined;
  }

  /** Releases everything: the control FIFO's ends, `ok` (svok now fails) and the lock, in that order. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const c = this.control;
    this.control = undefined;
    if (c instanceof Socket) c.destroy();
    else if (c) c.close();
    for (const fd of [this.controlFd, this.controlWriteFd, this.okFd, this.lockFd]) {
      if (fd >= 0) closeSync(fd);
    }
    this.controlFd = this.controlWriteFd = this.okFd = this.lockFd = -1;
    this.onBytes = this.onError = undefined;
  }
}

/** One read buffer for every control FIFO: a drain hands out copies and is over before the next one. */
const scratch = Buffer.allocUnsafe(256);

function drainControl(this: SuperviseDir): void {
  this.drainControl();
}

function warning(action: string, err: unknown): string {
  return new FatalError(action, err).message;
}
