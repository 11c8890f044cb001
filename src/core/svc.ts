// svc's argument syntax, pure: djb getopt over "udopchaitkx", letters kept in command-line order,
// duplicates dropped (first occurrence kept), at most 20 bytes; the first non-option (or "--") ends options.

export const SVC_LETTERS = 'udopchaitkx';
export const SVC_MAX = 20;
export const SVC_USAGE =
  'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill';

export type SvcArgs =
  | { readonly ok: true; readonly commands: string; readonly dirs: readonly string[] }
  | { readonly ok: false; readonly illegal: string };

export function parseSvcArgs(args: readonly string[]): SvcArgs {
  let commands = '';
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.length < 2 || a[0] !== '-') break; // "-" alone and non-options are directories
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (!SVC_LETTERS.includes(c)) return { ok: false, illegal: c };
      if (commands.length < SVC_MAX && !commands.includes(c)) commands += c;
    }
  }
  return { ok: true, commands, dirs: args.slice(i) };
}
