// `upkeep events [-f] [--json]`: the running svscan's state (a `state` line per service, then `sync`) and,
// with -f, every supervision event after it, as tab-delimited text (upkeep-events(8)) or JSON lines.
import { join } from 'node:path';
import { EXIT, FatalError } from '../core/errors.js';
import { converse } from '../io/control-socket.js';
import { treeOf } from '../io/svname.js';

export const HELP = `usage: upkeep events [--dir DIR] [-f] [--json]

Prints the state of every service supervised by the upkeep svscan running on DIR (default $SVDIR, else
/service), then, with -f, every supervision event as it happens. One event a line, tab-delimited:

  EVENT<TAB>SERVICE<TAB>TIME<TAB>key=value<TAB>...

TIME is UNIX seconds with microseconds; the keys of each event come in a fixed order (upkeep-events(8)):
  state    state want pid since ready source target     (the snapshot: one per service)
  sync     services                                     (end of the snapshot)
  start    pid target          exit  pid code signal uptime operator wanted
  ready    pid after           backoff delay deaths      control command via
  add/remove target            warning msg               dropped reason limit
Absent values are '-'; tab, newline and backslash in a value are written \\t, \\n, \\\\.

  -f, --follow   keep printing events (until svscan stops, or drops a reader that does not keep up)
  --json         one JSON object a line (the journal's fields plus time)

exit codes: 0 done (svscan stopped, or the snapshot printed), 100 usage, 111 no svscan answers, or this
reader was dropped for reading too slowly.
`;

export async function runEvents(o: { dir?: string; follow: boolean; json: boolean }): Promise<number> {
  const tree = treeOf(o.dir);
  let dropped = false;
  const cmd = `events${o.follow ? ' -f' : ''}${o.json ? ' --json' : ''}`;
  process.stdout.on('error', () => process.exit(EXIT.OK)); // a closed pipe (| head): done
  let ended: Promise<void>;
  try {
    ({ ended } = await converse(
      join(tree, '.upkeep'),
      cmd,
      (l) => {
        if (l.startsWith('dropped\t') || l.startsWith('{"event":"dropped"')) dropped = true;
        process.stdout.write(`${l}\n`);
      },
      true,
    ));
  } catch (e) {
    throw new FatalError(`unable to connect to svscan in ${tree}`, e);
  }
  await ended;
  if (dropped) {
    process.stderr.write('upkeep events: fatal: dropped by svscan: this reader did not keep up\n');
    return EXIT.TEMP;
  }
  return EXIT.OK;
}
