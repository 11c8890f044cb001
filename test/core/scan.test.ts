import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { reconcile, isServiceName, type Known } from '../../src/core/scan.js';

const none = new Map<string, Known>();

describe('reconcile', () => {
  it('adds new entries and ignores dot names and duplicates', () => {
    const { next, actions } = reconcile(none, [
      { name: 'web', target: '/srv/web-v1' },
      { name: '.upkeep', target: '/service/.upkeep' },
      { name: 'web', target: '/elsewhere' },
      { name: 'db', target: '/srv/db' },
    ]);
    expect(actions).toEqual([
      { kind: 'add', name: 'web', target: '/srv/web-v1' },
      { kind: 'add', name: 'db', target: '/srv/db' },
    ]);
    expect([...next.keys()]).toEqual(['web', 'db']);
  });

  it('keeps a service whose link was repointed, and says so', () => {
    const known = new Map([['web', { target: '/srv/web-v1', missing: 0 }]]);
    const { actions, next } = reconcile(known, [{ name: 'web', target: '/srv/web-v2' }]);
    expect(actions).toEqual([{ kind: 'retarget', name: 'web', from: '/srv/web-v1', to: '/srv/web-v2' }]);
    expect(next.get('web')).toEqual({ target: '/srv/web-v2', missing: 0 });
  });

  it('stops a service only after it was missing for two scans in a row (non-atomic ln -sfn)', () => {
    let known: Map<string, Known> = new Map([['web', { target: '/srv/web-v1', missing: 0 }]]);
    let r = reconcile(known, []);
    expect(r.actions).toEqual([{ kind: 'missing', name: 'web', scans: 1 }]);
    known = r.next;
    // It reappears (the new link is in place): nothing is stopped, the counter resets, the target moved.
    r = reconcile(known, [{ name: 'web', target: '/srv/web-v2' }]);
    expect(r.actions).toEqual([{ kind: 'retarget', name: 'web', from: '/srv/web-v1', to: '/srv/web-v2' }]);
    known = r.next;
    r = reconcile(known, []);
    known = r.next;
    r = reconcile(known, []);
    expect(r.actions).toEqual([{ kind: 'remove', name: 'web' }]);
    expect(r.next.size).toBe(0);
  });

  it('never removes a service that is seen, whatever the history (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom('a', 'b', 'c', '.d'), { maxLength: 4 }), { maxLength: 12 }),
        (scans) => {
          let known = new Map<string, Known>();
          let missingRun = new Map<string, number>();
          for (const names of scans) {
            const r = reconcile(known, names.map((n) => ({ name: n, target: `/t/${n}` })));
            for (const a of r.actions) {
              if (a.kind === 'remove') {
                expect(names).not.toContain(a.name);
                expect((missingRun.get(a.name) ?? 0) + 1).toBe(2);
              }
              if (a.kind === 'add') expect(isServiceName(a.name)).toBe(true);
            }
            const nextRun = new Map<string, number>();
            for (const [n] of r.next) nextRun.set(n, names.includes(n) ? 0 : (missingRun.get(n) ?? 0) + 1);
            missingRun = nextRun;
            known = r.next;
          }
        },
      ),
    );
  });
});
