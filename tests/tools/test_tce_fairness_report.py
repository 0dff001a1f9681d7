"""Tests of tools/analysis/tce_fairness_report.py on synthetic result JSONs."""

import json
import math

import numpy as np
import pytest

from tests.scripts import load_script

tool = load_script('tools/analysis/tce_fairness_report.py')
CLASSES = ['a', 'b', 'c', 'd', 'e', 'f', 'g']


def write(tmp_path, name, iou):
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(dict(classes=CLASSES, IoU=iou)))
    return str(path)


def table_rows(md, title):
    """Rows (lists of cells) of the Markdown table that follows ``title``."""
    lines = md[md.index(title) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('|'))
    rows = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.strip('|').split('|')])
    return rows


def test_report_tables_and_chart(tmp_path):
    ref = [50.0, 90.0, 10.0, 70.0, 30.0, None, 60.0]  # 'f' undefined for the reference
    other = [55.0, 80.0, 40.0, 65.0, 35.0, 20.0, 62.0]
    seeds = ([20.0, 85.0, 30.0, 60.0, 40.0, 25.0, 50.0], [30.0, 95.0, 40.0, 70.0, 50.0, 35.0, 60.0])
    args = [
        f'CE={write(tmp_path, "ce", ref)}',
        f'TCE t=1={write(tmp_path, "tce", other)}',
        'STCE=' + ','.join(write(tmp_path, f's{i}', s) for i, s in enumerate(seeds)),
    ]
    md_path, png_path = tmp_path / 'out' / 'r.md', tmp_path / 'out' / 'r.png'
    md = tool.main(
        args
        + [
            '--reference',
            'CE',
            '--columns',
            '4',
            '--out-md',
            str(md_path),
            '--out-png',
            str(png_path),
        ]
    )
    assert md_path.read_text() == md
    assert png_path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '![per-class IoU](r.png)' in md
    # Table 1: classes sorted by CE's IoU (c, e, a, g, d, b, then undefined f), 4 per block
    t1 = table_rows(md, 'Table 1')
    assert t1[0] == ['Method', 'c', 'e', 'a', 'g']
    assert t1[2] == ['CE', '10.00', '30.00', '50.00', '60.00']
    assert t1[3] == ['TCE t=1', '40.00', '35.00', '55.00', '62.00']
    assert t1[4] == ['STCE', '35.00', '45.00', '25.00', '55.00']  # mean over the 2 seeds
    t1b = table_rows(md[md.index('| continued') :], '| continued')
    assert t1b[0] == ['continued', 'd', 'b', 'f', 'mIoU']
    assert t1b[2] == ['CE', '70.00', '90.00', '-', f'{np.mean([50, 90, 10, 70, 30, 60]):.2f}']
    # Table 3, TCE t=1: groups of ceil(6/4) = 2 classes by CE's order among classes defined
    # for both (f is undefined for CE): bottom c, e; top b, d
    t3 = {r[0]: r for r in table_rows(md, 'Table 3')}
    row = t3['TCE t=1']
    assert row[1] == f'{(40 + 35) / 2:.2f}' and row[2] == f'{(80 + 65) / 2:.2f}'
    vals = np.array(other)
    low = np.percentile(vals, 25)
    assert row[3] == f'({low:.2f}, {vals[vals <= low].mean():.2f})'
    assert row[5] == '20.00' and row[6] == f'{vals.std():.2f}'
    # per-seed statistics: mean +- sample std over the seeds
    worst = [min(s) for s in seeds]
    assert t3['STCE'][5] == f'{np.mean(worst):.2f} ± {np.std(worst, ddof=1):.2f}'


def test_report_errors(tmp_path):
    a = write(tmp_path, 'a', [1.0] * 7)
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(classes=CLASSES[:3], IoU=[1.0, 2.0, 3.0])))
    with pytest.raises(ValueError, match='classes differ'):
        tool.main([f'A={a}', f'B={bad}'])
    with pytest.raises(ValueError, match='NAME=path'):
        tool.main([a])
    with pytest.raises(ValueError, match='reference'):
        tool.main([f'A={a}', '--reference', 'B'])
    assert not math.isnan(
        float(tool.build_report(*tool.collect({'A': [a]}), 'A').split('| A | ')[1].split(' |')[0])
    )
