// The shipped systemd unit is valid for systemd's own checker (with ExecStart pointed at this checkout).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ROOT, UPKEEP, itWithPeer, tmpdir } from '../helpers/index.js';

describe('docs/systemd/upkeep.service', () => {
  itWithPeer(['systemd-analyze'])('passes systemd-analyze verify, and a broken copy does not', () => {
    const unit = readFileSync(join(ROOT, 'docs/systemd/upkeep.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/upkeep svscan \/service$/m);
    const dir = tmpdir();
    const good = join(dir, 'upkeep.service');
    writeFileSync(good, unit.replace('/usr/local/bin/upkeep', UPKEEP));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', good], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The check is real: a typo in the unit is reported.
    const bad = join(dir, 'broken.service');
    writeFileSync(bad, unit.replace('/usr/local/bin/upkeep', UPKEEP).replace('KillMode=mixed', 'KillMode=mixd'));
    const b = spawnSync('systemd-analyze', ['verify', '--man=no', bad], { encoding: 'utf8' });
    expect(b.stderr).toMatch(/Failed to parse kill mode/);
  });
});
