// Replacing a small file atomically and durably: write a temporary file beside it, fsync it, rename it over
// the target, then fsync the directory (best effort) so the rename itself survives a crash. A failure
// removes the temporary file and throws the fs error.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileDurably(path: string, data: string | Uint8Array, opts: { tmp?: string; mode?: number } = {}): void {
  const tmp = opts.tmp ?? `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', opts.mode ?? 0o644);
    try {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  }
  try {
    const d = openSync(dirname(path), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // a directory fsync is not supported everywhere
  }
}
