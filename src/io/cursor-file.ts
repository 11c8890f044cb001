// The cursor file: read at start, replaced atomically after each batch (write F.tmp, fsync, rename),
// so a kill -9 leaves either the old or the new cursor, never a torn one.
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileDurably } from './durable-write.js';
import { type Cursor, CursorError, formatCursor, parseCursor } from '../core/cursor.js';
import { FatalError } from '../core/errors.js';

/** The saved cursor, or null when the file does not exist yet. */
export function loadCursor(path: string): Cursor | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new FatalError(`unable to read cursor file ${path}`, e);
  }
  try {
    return parseCursor(text);
  } catch (e) {
    throw new FatalError(`unable to read cursor file ${path}: ${(e as CursorError).message}`, undefined, 100);
  }
}

const lastSaved = new Map<string, string>();

/** Replaces the cursor file atomically and durably (not at all when it would not change). */
export function saveCursor(path: string, c: Cursor): void {
  const text = formatCursor(c);
  if (lastSaved.get(path) === text) return;
  try {
    writeFileDurably(path, text, { tmp: `${path}.tmp` });
    lastSaved.set(path, text);
  } catch (e) {
    throw new FatalError(`unable to write cursor file ${path}`, e);
  }
}

/**
 * Fails now, before anything is shipped, when the cursor file could not be written (its directory is
 * missing or not writable): otherwise the first batch would go out, its cursor fail, and every rerun
 * ship that batch again.
 */
export function checkCursorWritable(path: string): void {
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch (e) {
    throw new FatalError(`unable to write cursor file ${path}`, e);
  }
}
