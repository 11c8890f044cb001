// A private syslog-ng for the collector tests: Debian's syslog-ng-core, unpacked beside rsyslog by
// .ci/install-syslog-ng (the two packages conflict), run in the foreground with the test's own
// configuration, persist file, pid file and control socket, all in the test's directory. Also: the
// configuration snippets docs/collectors.md shows, read from the doc itself so that both stay identical.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, waitFor } from './index.js';

/** The wrapper .ci/install-syslog-ng writes (UPKEEP_SYSLOG_NG overrides). */
export const SYSLOG_NG = process.env.UPKEEP_SYSLOG_NG ?? '/opt/upkeep-peers/syslog-ng/bin/syslog-ng';

export interface SyslogNg {
  /** Everything syslog-ng said on stderr so far (its internal log, `-e`). */
  err(): string;
  /** Starts syslog-ng and waits for "syslog-ng starting up" (sources are open by then). */
  start(): Promise<void>;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL if still running (for afterEach). */
  kill(): void;
}

/** A syslog-ng running `conf` (written by the caller), its state files in `dir`. Not started yet. */
export function syslogNg(dir: string, conf: string): SyslogNg {
  let proc: ChildProcess | null = null;
  let err = '';
  const args = ['-F', '-e', '--no-caps', '-f', conf, '-R', join(dir, 'syslog-ng.persist'), '-p', join(dir, 'syslog-ng.pid'), '-c', join(dir, 'syslog-ng.ctl')];
  const s: SyslogNg = {
    err: () => err,
    async start() {
      const before = err.length;
      const p = spawn(SYSLOG_NG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = p;
      p.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
      let exited = false;
      p.once('exit', () => (exited = true));
      await waitFor(() => {
        if (exited) throw new Error(`syslog-ng exited at start-up: ${err.slice(before)}`);
        return err.indexOf('syslog-ng starting up', before) >= 0;
      }, 'syslog-ng to start up');
    },
    async stop() {
      const p = proc!;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    },
    kill() {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
  return s;
}

/**
 * The code block that follows `<!-- test: NAME -->` in docs/collectors.md, with the doc's example values
 * replaced as given (e.g. '/service/web/log/main' -> the test's log directory).
 */
export function docConfig(name: string, replace: Record<string, string>): string {
  const doc = readFileSync(join(ROOT, 'docs/collectors.md'), 'utf8');
  const m = new RegExp(`<!-- test: ${name} -->\\n\`\`\`[a-z]*\\n([^]*?)\`\`\`\\n`).exec(doc);
  if (!m) throw new Error(`docs/collectors.md has no code block marked <!-- test: ${name} -->`);
  let text = m[1]!;
  for (const [from, to] of Object.entries(replace)) {
    if (!text.includes(from)) throw new Error(`the ${name} block in docs/collectors.md has no ${from}`);
    text = text.replaceAll(from, to);
  }
  return text;
}
