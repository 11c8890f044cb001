// What a service's logger is, as far as a deploy is concerned: svscan compares the logger of the old target
// with the new target's to decide whether the running logger can carry on (only its supervise/ moves) or
// must be restarted into the new definition (docs/design-supervisor.md, "Deploy and the logger").
//
// Same logger means: the same kind, and
// - log/script: the same actions once every path in them (log directories, `=` status files) is resolved
//   against the real path of its log/ directory, and the same log/no-exit-notes setting. A script that
//   names its log directory by a stable absolute path (or a relative one that leads to the same place) is
//   the same logger in every version.
// - log/run: the same log/ directory (a real path) and the same run file. A log/run program is opaque: its
//   working directory is log/, where its relative paths resolve, so in another log/ it is another logger,
//   even with the same bytes (it is restarted, which loses no line: the old one reads its pipe to the end).
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseScriptFile } from './loghost-client.js';

export type LoggerDef =
  | { readonly kind: 'none' }
  | { readonly kind: 'run'; readonly logDir: string; readonly run: string | null }
  | { readonly kind: 'script'; readonly logDir: string; readonly actions: readonly string[] | null; readonly notes: boolean };

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

/** One script action with its path made absolute (multilog resolves it against its working directory). */
function resolveAction(base: string, a: string): string {
  if (a.startsWith('.') || a.startsWith('/')) return real(resolve(base, a));
  if (a.startsWith('=') && a.length > 1) return `=${real(resolve(base, a.slice(1)))}`;
  return a;
}

/**
 * The logger of service directory `target` as svscan would start it now: `log/run` wins over `log/script`,
 * and `log/script` needs the shared logger process (`scripts`).
 */
export function loggerDef(target: string, scripts: boolean): LoggerDef {
  const dir = join(target, 'log');
  if (!existsSync(dir)) return { kind: 'none' };
  const logDir = real(dir);
  const hasRun = existsSync(join(dir, 'run'));
  if (!hasRun && scripts && existsSync(join(dir, 'script'))) {
    const text = readText(join(dir, 'script'));
    return {
      kind: 'script',
      logDir,
      actions: text === null ? null : parseScriptFile(text).map((a) => resolveAction(logDir, a)),
      notes: !existsSync(join(dir, 'no-exit-notes')),
    };
  }
  return { kind: 'run', logDir, run: readText(join(dir, 'run')) };
}

/** null when `b` is the same logger as `a` (it carries on); else why it is restarted (the journal's reason). */
export function loggerChange(a: LoggerDef, b: LoggerDef): string | null {
  if (a.kind === 'none') return b.kind === 'none' ? null : 'log/ appeared';
  if (b.kind === 'none') return 'log/ is gone';
  if (a.kind !== b.kind) return `log/${a.kind} replaced by log/${b.kind}`;
  if (a.kind === 'run' && b.kind === 'run') {
    if (a.run === null || a.run !== b.run) return 'log/run changed';
    return a.logDir === b.logDir ? null : 'log/run runs in another log/ directory';
  }
  if (a.kind === 'script' && b.kind === 'script') {
    if (a.actions === null || b.actions === null || a.actions.join('\n') !== b.actions.join('\n')) return 'log/script changed';
    return a.notes === b.notes ? null : 'log/no-exit-notes changed';
  }
  return null;
}
