// `supervise DIR`: runs DIR/run and keeps it running, daemontools-compatible (supervise/ layout, status
// bytes, control letters, messages, exit codes), with a responsive restart policy (see upkeep-supervise(8)).
import { EXIT, FatalError } from '../core/errors.js';
import { Service } from '../io/service.js';
import { checkChdir } from '../io/svdir.js';

export const HELP = `usage: supervise dir

Runs dir/run (as ./run, no arguments, cwd = dir) and restarts it when it exits, unless told otherwise
through dir/supervise/control (svc). Compatible with daemontools' supervise, svc, svstat and svok.

  dir/down           if present at start-up, the service is not started (svc -u starts it)
  dir/timeout-kill   milliseconds after svc -d before SIGKILL to the service's process group (default: never)
  dir/supervise/     lock, control, ok, status (18 bytes, daemontools format)

Restarts: a run that lasted at least 1 s is restarted at once; shorter runs back off 1 s, 2 s, 4 s ...
up to 60 s (svc -u or svc -o starts at once). A restart asked for with svc -t or svc -k happens at
once and does not count as a crash. SIGTERM or SIGINT: stop the service, then exit 0 (svc -dx).

exit codes: 0 after svc -x (or a signal) once the service is down, 100 usage, 111 system error.
`;

export async function main(args: string[]): Promise<number> {
  if (args.length !== 1) {
    process.stderr.write('supervise: usage: supervise dir\n');
    return EXIT.USAGE;
  }
  const dir = args[0]!;
  try {
    checkChdir(dir);
  } catch (err) {
    throw new FatalError(`unable to chdir to ${dir}`, err);
  }
  // A supervisor must not die because whoever read its stderr went away (EPIPE): warnings are lost, the
  // service keeps being supervised.
  process.stderr.on('error', () => {});
  const service = new Service({ dir });
  // Handlers go in before the service starts: the status file shows it up before start() resolves, and a
  // signal in between would otherwise kill supervise with Node's default action and orphan the service.
  let started = false;
  let pendingStops = 0;
  const onSignal = (): void => {
    if (started) service.stop();
    else pendingStops++;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await service.start();
    started = true;
    for (; pendingStops > 0; pendingStops--) service.stop();
    await service.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  return EXIT.OK;
}
