// `svc [-udopchaitkx] dir ...`: writes control letters to dir/supervise/control, daemontools-compatible
// (same warnings, exit 0 even when a directory failed, 100 on an illegal option).
import { closeSync, constants as C, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, EXIT } from '../core/errors.js';
import { parseSvcArgs, SVC_USAGE } from '../core/svc.js';
import { checkChdir, serviceDirArg, takeDirOption } from '../io/svname.js';

export const HELP = `usage: svc [-udopchaitkx] dir ...

Sends commands to the supervise processes of the given service directories (writes the letters, in
command-line order, duplicates dropped, to dir/supervise/control):

  -u  up: start the service, restart it when it exits
  -d  down: send TERM then CONT; do not restart it
  -o  once: start it if it is down; do not restart it
  -p  pause: send STOP          -c  continue: send CONT
  -h  send HUP   -a  send ALRM   -i  send INT   -t  send TERM   -k  send KILL
  -x  exit: supervise exits as soon as the service is down (svc -dx stops both)

A dir that does not exist here and has no '/' is a service NAME in --dir TREE (first argument), else
$SVDIR, else /service.
exit codes: 0 (even when a directory could not be controlled: see the warnings), 100 illegal option.
`;

export async function main(argv: string[]): Promise<number> {
  const { dir: tree, rest: args } = takeDirOption(argv);
  const parsed = parseSvcArgs(args);
  if (!parsed.ok) {
    process.stderr.write(`svc: illegal option -- ${parsed.illegal}\n${SVC_USAGE}\n`);
    return EXIT.USAGE;
  }
  const data = Buffer.from(parsed.commands, 'latin1');
  for (const arg of parsed.dirs) {
    const dir = serviceDirArg(arg, tree);
    const warning = await control(dir, data);
    if (warning !== undefined) process.stderr.write(`svc: warning: ${warning}\n`);
  }
  return EXIT.OK;
}

/** Sends `data` to one directory; returns the warning text on failure. */
async function control(dir: string, data: Buffer): Promise<string | undefined> {
  try {
    checkChdir(dir);
  } catch (err) {
    return `unable to chdir to ${dir}: ${describeError(err)}`;
  }
  let fd: number;
  try {
    fd = openSync(join(dir, 'supervise/control'), C.O_WRONLY | C.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return `unable to control ${dir}: supervise not running`;
    return `unable to control ${dir}: ${describeError(err)}`;
  }
  try {
    // daemontools switches the fd to blocking for its single write; Node cannot, so a full pipe
    // (a wedged supervisor) is waited out by retrying, which is what a blocking write does.
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } catch (err) {
    return `error writing commands to ${dir}: ${describeError(err)}`;
  } finally {
    closeSync(fd);
  }
  return undefined;
}
