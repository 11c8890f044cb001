// The cursor: where an incremental reader (`upkeep tail --cursor-file`, `upkeep export`) stopped, per
// log directory, robust across rotation. Pure: format, parse, and the order in which to look for the
// position again. Format (JSON, documented in man/upkeep-tail.8):
//
//   {"upkeep_cursor":1,"dirs":{
//    "/service/web/log/main":{"file":"current","ino":1234,"offset":5678,"label":"@4000...","hash":"1a2b3c4d"}
//   }}
//
// `offset` is the byte just after the last line given (its "\n"); `file` is the name it had then
// ("current", or "@<stamp>.s"/".u": an archive's name never changes); `ino` its inode. At rotation
// `current` becomes an archive with the same bytes and inode, so the position survives it. `label`
// (or null) and `hash` (FNV-1a of the line's bytes) identify the line that ends at `offset`: a candidate
// file is accepted only when that line is there, so a copied, rewritten or truncated file is never
// trusted on its inode alone.
//
// Compressed archives (the logger's `%gzip`: `@<stamp>.s` becomes `@<stamp>.s.gz`, a new inode with the
// same bytes inside): `file` is always the archive's name without ".gz" and `offset` counts uncompressed
// bytes, so a position survives the compression too; the `.gz` is found by that name (or, for a position
// saved in `current`, among the archives named after the line's label) and checked by label and hash.
// Cursors written before compressed archives were read have the same form and stay valid.

export interface DirPosition {
  file: string;
  ino: number;
  offset: number;
  label: string | null;
  hash: string;
}

export interface Cursor {
  dirs: Record<string, DirPosition>;
}

export class CursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CursorError';
  }
}

export function formatCursor(c: Cursor): string {
  const keys = Object.keys(c.dirs).sort();
  const body = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(c.dirs[k])}`).join(',\n');
  return `{"upkeep_cursor":1,"dirs":{\n${body}\n}}\n`;
}

const LABEL_RE = /^@[0-9a-f]{24}$/;
// (`previous`: multilog's name for the old current while its processor runs; a line read from it is
// found again by inode once it is an archive, as with `current`)
const FILE_RE = /^(current|previous|@[0-9a-fA-F]{24}\.[su](\.gz)?)$/;

export function parseCursor(text: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CursorError('not JSON');
  }
  if (!v || typeof v !== 'object' || (v as { upkeep_cursor?: unknown }).upkeep_cursor !== 1) {
    throw new CursorError('not an upkeep cursor (version 1)');
  }
  const dirs = (v as { dirs?: unknown }).dirs;
  if (!dirs || typeof dirs !== 'object') throw new CursorError('no dirs');
  const out: Record<string, DirPosition> = {};
  for (const [k, p] of Object.entries(dirs as Record<string, unknown>)) {
    const q = p as Partial<DirPosition>;
    if (
      !q ||
      typeof q.file !== 'string' ||
      !FILE_RE.test(q.file) ||
      !Number.isSafeInteger(q.ino) ||
      !Number.isSafeInteger(q.offset) ||
      (q.offset as number) < 0 ||
      !(q.label === null || (typeof q.label === 'string' && LABEL_RE.test(q.label))) ||
      typeof q.hash !== 'string'
    ) {
      throw new CursorError(`bad position for ${k}`);
    }
    out[k] = { file: q.file, ino: q.ino!, offset: q.offset!, label: q.label, hash: q.hash };
  }
  return { dirs: out };
}

export interface Listed {
  name: string;
  ino: number;
  size: number;
}

/**
 * Files worth checking for a saved position, most likely first: the file of that name (an archive keeps
 * its name; or its compressed NAME.gz), then any file with the same inode (`current` rotated into an archive), then every archive
 * named after the line's label (the file that held it was finished later), oldest first, then `current`.
 * Only files at least `offset` bytes long are listed. The caller accepts the first whose line ending
 * at `offset` matches label and hash.
 */
export function candidates(files: readonly Listed[], pos: DirPosition): Listed[] {
  const out: Listed[] = [];
  const add = (f: Listed | undefined): void => {
    if (f && f.size >= pos.offset && !out.includes(f)) out.push(f);
  };
  const plain = (n: string): string => (n.endsWith('.gz') ? n.slice(0, -3) : n);
  const live = pos.file === 'current' || pos.file === 'previous'; // (names that move on)
  add(files.find((f) => f.name === pos.file && (!live || f.ino === pos.ino)));
  if (!live) add(files.find((f) => plain(f.name) === plain(pos.file)));
  for (const f of files) if (f.ino === pos.ino) add(f);
  const after = pos.label ?? '';
  for (const f of files) if (f.name !== 'current' && f.name.slice(0, 25).toLowerCase() >= after) add(f);
  add(files.find((f) => f.name === 'current'));
  return out;
}
