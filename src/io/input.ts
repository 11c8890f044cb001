// Reading a log's input from any fd without ever parking a thread of libuv's pool on it.
//  - pipe, FIFO, socket: net.Socket on the fd (libuv makes it O_NONBLOCK and polls it on the event loop);
//    `onread` hands us each read directly and lets pause() stop reading at once (readStop), so bytes not
//    yet read stay in the pipe.
//  - tty: tty.ReadStream (same mechanism).
//  - regular file (or anything else): fs.read, which cannot wait forever on a regular file.
// readByte() serves multilog's SIGTERM rule (finish the current line, leave the rest in the pipe): the
// stream is paused, then bytes are taken one at a time with a non-blocking read, polling while none is there.
import { fstatSync, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';

const CHUNK = 64 * 1024;
/**
 * One read buffer for every pipe input of the process: libuv reads one fd at a time on the event loop
 * and hands each read to its handler before the next read, and handlers copy what must outlive the call
 * (InputHandlers.data). The shared logger reads 1000 pipes: 64 KiB each otherwise.
 */
let sharedChunk: Buffer | undefined;
const BYTE_POLL_MS = 20;
const FILE_CHUNK = 256 * 1024;

export interface InputHandlers {
  /** A chunk read from the fd. The Buffer is reused for the next read: copy what must outlive the call. */
  data(chunk: Buffer): void;
  /** End of input (a read error counts as end of input, as in multilog). */
  end(err?: Error): void;
}

export interface Input {
  /** Stop reading now; nothing more is read from the fd until resume(). */
  pause(): void;
  resume(): void;
  /** While paused: read exactly one byte (null at end of input). Never reads more than one byte. */
  readByte(): Promise<Buffer | null>;
  /**
   * Stop for good. The fd is left open (and, for stdin, Node restores its blocking mode at exit), except
   * that a pipe/FIFO/socket input closes its fd by itself once it has reached end of input.
   */
  close(): void;
}

type Kind = 'stream' | 'file';

export function openInput(fd: number, on: InputHandlers): Input {
  const st = fstatSync(fd);
  const kind: Kind = st.isFIFO() || st.isSocket() || st.isCharacterDevice() ? 'stream' : 'file';
  if (kind === 'stream' && st.isCharacterDevice() && !isTty(fd)) return new FileInput(fd, on); // /dev/null etc.
  return kind === 'stream' ? new StreamInput(fd, on) : new FileInput(fd, on);
}

function isTty(fd: number): boolean {
  return isatty(fd);
}

class StreamInput implements Input {
  private readonly sock: Socket;
  private done = false;
  private paused = false;

  constructor(private readonly fd: number, private readonly on: InputHandlers) {
    const onread = {
      buffer: (sharedChunk ??= Buffer.allocUnsafe(CHUNK)),
      callback: (n: number, buf: Uint8Array): boolean => {
        const b = buf as Buffer;
        this.on.data(b.subarray(0, n));
        return !this.paused;
      },
    };
    if (isTty(fd)) {
      // tty.ReadStream ignores `onread`: plain 'data' events (a terminal delivers a line per read anyway).
      this.sock = new TtyReadStream(fd);
      this.sock.on('data', (b: Buffer) => this.on.data(b));
    } else {
      const opts = { fd, readable: true, writable: false, onread } as unknown as ConstructorParameters<typeof Socket>[0];
      this.sock = new Socket(opts);
    }
    this.sock.on('end', () => this.finish());
    this.sock.on('error', (e) => this.finish(e));
  }

  private finish(err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.on.end(err);
  }

  pause(): void {
    this.paused = true;
    this.sock.pause();
  }

  resume(): void {
    if (this.done) return;
    this.paused = false;
    this.sock.resume();
  }

  readByte(): Promise<Buffer | null> {
    return readOneByte(this.fd);
  }

  close(): void {
    this.paused = true;
    this.done = true;
    this.sock.pause();
    this.sock.unref();
  }
}

/** One byte from a (non-blocking) fd, polling on EAGAIN. */
function readOneByte(fd: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const b = Buffer.alloc(1);
    const attempt = (): void => {
      try {
        const n = readSync(fd, b, 0, 1, null);
        resolve(n === 1 ? b : null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') setTimeout(attempt, BYTE_POLL_MS);
        else resolve(null);
      }
    };
    attempt();
  });
}

class FileInput implements Input {
  private paused = false;
  private scheduled = false;
  private done = false;
  private readonly buf = Buffer.allocUnsafe(FILE_CHUNK);

  constructor(private readonly fd: number, private readonly on: InputHandlers) {
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.paused || this.done) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  /**
   * Regular files are read synchronously: a read of a regular file cannot wait forever, and a thread-pool
   * round trip per chunk halved throughput. One chunk per turn of the event loop keeps signals and timers
   * served.
   */
  private pump(): void {
    this.scheduled = false;
    if (this.paused || this.done) return;
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, FILE_CHUNK, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') {
        setTimeout(() => this.pump(), BYTE_POLL_MS);
        return;
      }
      this.done = true;
      this.on.end(e as Error);
      return;
    }
    if (n === 0) {
      this.done = true;
      this.on.end();
      return;
    }
    this.on.data(this.buf.subarray(0, n));
    this.schedule();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  readByte(): Promise<Buffer | null> {
    return readOneByte(this.fd);
  }

  close(): void {
    this.paused = true;
    this.done = true;
  }
}
