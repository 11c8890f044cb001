#!/usr/bin/env python3
"""Rebuilds README.md: its hand-written head (up to the `<!-- program sections -->` marker), then the
program sections of docs/readme/*.md in reading order. Run from anywhere: python3 docs/readme/assemble.py"""
from pathlib import Path

root = Path(__file__).resolve().parents[2]
readme = root / 'README.md'
marker = '<!-- program sections -->'
order = ['svscan', 'supervise', 'control', 'journal',  # supervision
         'multilog', 'collectors',                     # logging
         'tai64n', 'tai64nlocal',                      # time stamps
         'report',                                     # after an incident
         'tail', 'export', 'metrics']                  # reading and shipping logs
head = readme.read_text().split(marker)[0]
parts = [head.rstrip() + '\n\n' + marker + '\n']
for name in order:
    parts.append('\n' + (root / 'docs' / 'readme' / f'{name}.md').read_text().strip() + '\n')
missing = sorted(p.stem for p in (root / 'docs' / 'readme').glob('*.md') if p.stem not in order)
if missing:
    raise SystemExit(f'assemble.py: fatal: sections not placed in the order: {", ".join(missing)}')
readme.write_text(''.join(parts))
