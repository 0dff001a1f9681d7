"""The README's main job, ``bash tools/demo.sh``, end to end on a 4-iteration schedule.

It sets the environment up (a no-op here), builds the digits segmentation data once, trains the
CE baseline and class-level TCE with ``tools/train.py``, evaluates both checkpoints with
``tools/test.py`` and prints their per-class IoU side by side with the fairness keys
(``tools/analysis/compare_seg_runs.py``), and writes the comparison PNG.
"""

import json
import os.path as osp
import re

import numpy as np

from .conftest import REPO, run, tool_env


def test_demo_trains_both_and_prints_them_side_by_side(tmp_path):
    work_dir = str(tmp_path / 'demo')
    env = tool_env()
    env['DEMO_WORK_DIR'] = work_dir
    out = run(
        [
            'bash',
            osp.join(REPO, 'tools', 'demo.sh'),
            '--cfg-options',
            'train_cfg.max_iters=4',
            'train_cfg.val_interval=100000',
            'default_hooks.logger.interval=1',
        ],
        cwd=REPO,
        env=env,
        timeout=900,
    )
    log = out.stdout + out.stderr
    assert 'mcce' in log and 'tce-cls-t1' in log  # both configs trained
    with open(osp.join(work_dir, 'tce.log')) as f:
        assert 'decode.loss_tce' in f.read()  # the TCE run trains with tilted CE
    metrics = {}
    for name in ('ce', 'tce'):
        with open(osp.join(work_dir, name, 'test', 'metrics.json')) as f:
            metrics[name] = json.load(f)
    # the printed side-by-side table: background and ten digits, one column per run
    rows = re.findall(r'^\| IoU (background|\d) \| ([\d.]+|n/a) \| ([\d.]+|n/a) \|$', log, re.M)
    assert [r[0] for r in rows] == ['background'] + [str(d) for d in range(10)]
    for name, ce, tce in rows:
        for value, key in ((ce, 'ce'), (tce, 'tce')):
            saved = metrics[key][f'IoU.{name}']
            if value == 'n/a':
                assert saved is None
            else:  # the printed table is the saved metrics (2 decimals)
                assert abs(saved - float(value)) <= 0.005
    for key in ('ce', 'tce'):
        ious = np.array(
            [
                np.nan if metrics[key][f'IoU.{r[0]}'] is None else metrics[key][f'IoU.{r[0]}']
                for r in rows
            ],
            dtype=float,
        )
        assert abs(metrics[key]['worstIoU'] - np.nanmin(ious)) <= 0.01
    for key in ('mIoU', 'worstIoU', 'stdIoU', 'bottom25_mIoU', 'top25_mIoU'):
        assert re.search(rf'^\| {key} \| [\d.]+ \| [\d.]+ \|$', log, re.M), key
    png = osp.join(work_dir, 'compare.png')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
