// `svok dir`: exit 0 if a supervise runs for dir (it holds dir/supervise/ok open for reading), else 100.
import { closeSync, constants as C, openSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, FatalError } from '../core/errors.js';
import { checkChdir, serviceDirArg, takeDirOption } from '../io/svname.js';

export const HELP = `usage: svok [--dir TREE] dir

Exits 0 if a supervise process (upkeep's or daemontools') is running for dir, 100 if not.
A dir that does not exist here and has no '/' is a service NAME in --dir TREE, else $SVDIR, else /service.
exit codes: 0 running, 100 not running (or usage), 111 dir cannot be entered or another error.
`;

export async function main(argv: string[]): Promise<number> {
  const { dir: tree, rest: args } = takeDirOption(argv);
  const dir = args[0] === undefined ? undefined : serviceDirArg(args[0], tree);
  if (dir === undefined) {
    process.stderr.write('svok: usage: svok dir\n');
    return EXIT.USAGE;
  }
  try {
    checkChdir(dir);
  } catch (err) {
    throw new FatalError(`unable to chdir to ${dir}`, err);
  }
  try {
    closeSync(openSync(join(dir, 'supervise/ok'), C.O_WRONLY | C.O_NONBLOCK));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') return EXIT.USAGE;
    throw new FatalError(`unable to open ${dir}/supervise/ok`, err);
  }
  return EXIT.OK;
}
