// `upkeep metrics [DIR]`: restarts, up/down, backoff and logger state of every service of a tree, in
// Prometheus text format, on stdout or atomically into a .prom file for node_exporter's textfile collector.
import { EXIT, FatalError } from '../core/errors.js';
import { formatMetrics } from '../core/metrics.js';
import { writeFileDurably } from '../io/durable-write.js';
import { wallClock } from '../io/clock.js';
import { readSamples } from '../io/metrics-read.js';
import { treeOf } from '../io/svname.js';

export const HELP = `usage: upkeep metrics [--output FILE] [--service NAME]... [DIR]

Prints the state of every service of the tree DIR (default: --dir, else $SVDIR, else /service) in
Prometheus text exposition format: up/down, wanted state, paused, last state change, and under upkeep
svscan the restarts, last exit (code or signal, uptime), backoff and readiness, and whether the service's
logger (log/run or log/script) runs. Reads supervise/status, supervise/upkeep.json and .upkeep/state.json;
changes nothing.

  -o, --output FILE   write FILE atomically (FILE.PID.tmp, fsync, rename) instead of stdout: for
                      node_exporter's --collector.textfile.directory (FILE must end in .prom)
  --service NAME      only this service (repeatable)
  --dir DIR           the tree (same as the DIR argument)

exit codes: 0 done, 100 usage, 111 the tree or FILE could not be read or written.
`;

export interface MetricsOptions {
  dir?: string;
  output?: string;
  service?: string[];
}

export async function metrics(o: MetricsOptions): Promise<number> {
  const tree = treeOf(o.dir);
  let samples;
  try {
    samples = readSamples(tree, o.service && o.service.length > 0 ? o.service : undefined);
  } catch (e) {
    throw new FatalError(`unable to read ${tree}`, e);
  }
  const text = formatMetrics(samples, wallClock().nowMicros() / 1e6);
  if (o.output === undefined) {
    process.stdout.write(text);
    return EXIT.OK;
  }
  try {
    writeFileDurably(o.output, text);
  } catch (e) {
    throw new FatalError(`unable to write ${o.output}`, e);
  }
  return EXIT.OK;
}
