// `upkeep ctl COMMAND...`: one command of docs/commands.md sent to the running svscan of a tree through its
// command socket; the reply (and, for status, a `state` line per service) is printed as it comes.
import { join } from 'node:path';
import { EXIT, FatalError } from '../core/errors.js';
import { converse } from '../io/control-socket.js';
import { treeOf } from '../io/svname.js';

export const HELP = `usage: upkeep ctl [--dir DIR] [--json] COMMAND [ARG...]

Sends one command to the upkeep svscan running on DIR (default $SVDIR, else /service) and prints its reply:
  ok<TAB>COMMAND<TAB>SERVICE<TAB>what happened     or     error<TAB>COMMAND<TAB>SERVICE<TAB>why

Commands (docs/commands.md):
  up NAME | down NAME | once NAME | restart NAME | signal NAME SIGNAL
  status [NAME]            a 'state' line per service (fields: upkeep-events(8)), then the reply
  add NAME [--cwd DIR] [--down] [--controller] [--env K=V]... [--notification-fd N] [--] PROGRAM [ARG...]
                           a service that lives in the supervisor only (no directory in the tree)
  remove NAME              stop and forget a service added with add
  rescan                   scan the tree now

  --json   replies (and state lines) as JSON objects, one a line

exit codes: 0 the command succeeded, 1 it failed (the reply says why), 100 usage, 111 no svscan answers.
`;

/** A single-quoted word of the command language. */
function quote(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'"'"'`)}'`;
}

export async function runCtl(o: { dir?: string; json: boolean; words: string[] }): Promise<number> {
  const tree = treeOf(o.dir);
  const words = o.words;
  let ok = false;
  let line = words.map(quote).join(' ');
  if (o.json) {
    line = JSON.stringify({ op: words[0], service: words[1], ...(words[0] === 'signal' ? { signal: words[2] } : {}), client: { pid: process.pid, program: 'upkeep ctl' } });
    if (words[0] === 'add') throw new FatalError('unable to send add as JSON: use the text form');
  } else {
    line = `from ${process.pid} 'upkeep ctl'\n${line}`; // the journal's `sender` of this command
  }
  let ended: Promise<void>;
  try {
    ({ ended } = await converse(join(tree, '.upkeep'), line, (l) => {
      process.stdout.write(`${l}\n`);
      if (l.startsWith('ok\t') || l.startsWith('{"event":"ok"') || l.startsWith('{"ok":true')) ok = true;
      if (l.startsWith('{"ok":')) return true; // a JSON reply has no 'state' lines before it
      return undefined;
    }));
  } catch (e) {
    throw new FatalError(`unable to connect to svscan in ${tree}`, e);
  }
  await ended;
  return ok ? EXIT.OK : 1;
}
