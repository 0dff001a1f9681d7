"""The README's main job, ``bash tools/demo.sh``, end to end on a 4-iteration schedule.

It sets the environment up (a no-op here), builds the digits segmentation data, trains the
default demo config (class-level TCE) with ``tools/train.py``, evaluates the last checkpoint with
``tools/test.py`` and prints the per-class IoU table and the fairness metrics.
"""
import json
import os.path as osp
import re

import numpy as np

from .conftest import REPO, run, tool_env


def test_demo_trains_evaluates_and_prints_per_class_iou(tmp_path):
    work_dir = str(tmp_path / 'demo')
    env = tool_env()
    env['DEMO_WORK_DIR'] = work_dir
    out = run([
        'bash',
        osp.join(REPO, 'tools', 'demo.sh'), '--cfg-options', 'train_cfg.max_iters=4',
        'train_cfg.val_interval=100000', 'default_hooks.logger.interval=1'
    ],
              cwd=REPO,
              env=env,
              timeout=900)
    log = out.stdout + out.stderr
    assert 'tce-cls-t1' in log  # the default demo config: class-level tilted CE
    assert 'decode.loss_tce' in log
    # the per-class table of the test run: background and the ten digits, IoU and Acc columns
    test_part = log[log.index('[demo] evaluating'):]
    rows = re.findall(r'^\|\s*(background|\d)\s*\|\s*([\d.]+|nan)\s*\|', test_part, re.M)
    assert [r[0] for r in rows] == ['background'] + [str(d) for d in range(10)]
    with open(osp.join(work_dir, 'test', 'metrics.json')) as f:
        metrics = json.load(f)
    per_class = {name: float(iou) for name, iou in rows}
    for name, iou in per_class.items():  # the printed table is the saved one (2 decimals)
        assert abs(metrics[f'IoU.{name}'] - iou) <= 0.01
    ious = np.array([metrics[f'IoU.{name}'] for name in per_class])
    assert abs(metrics['mIoU'] - np.nanmean(ious)) <= 0.011
    assert abs(metrics['worstIoU'] - np.nanmin(ious)) <= 0.01
    for key in ('aAcc', 'mAcc', 'fwIoU', 'stdIoU', 'bottom25_mIoU', 'top25_mIoU'):
        assert key in metrics
