"""Smoke run of tools/experiments/balance_batch_digits.py: one Balance-batch method, one
seed, a few iterations, through mmengine's Runner (InfiniteSampler + BalanceBatchSampler
+ SoftIoULoss + FairIoUMetric)."""
import json
import os.path as osp

import pytest

from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_balance_batch_digits_smoke(tmp_path):
    pytest.importorskip('mmseg')
    pytest.importorskip('matplotlib')
    mod = load_script('tools/experiments/balance_batch_digits.py')
    md_path, png_path = tmp_path / 'r.md', tmp_path / 'r.png'
    md = mod.main(['--seeds', '0', '--iters', '3', '--methods', 'Soft IoU + BB',
                   '--val-indices', '8', '--work-dir', str(tmp_path / 'wd'),
                   '--out-md', str(md_path), '--out-png', str(png_path)])
    assert png_path.stat().st_size > 10_000
    assert '| Soft IoU + BB |' in md and md_path.read_text() == md
    metrics = json.loads((tmp_path / 'wd' / 'soft-iou-bb_seed0' / 'metrics.json').read_text())
    assert {'mIoU', 'fwIoU', 'mAcc', 'aAcc', 'IoU.9'} <= set(metrics)
    assert 1 <= metrics['mean_batch_size'] <= 8
    # every Balance-batch batch of the train split holds all 11 classes
    assert '| Balance-batch, batch_max 8, batch_cl 11 |' in md
    row = next(line for line in md.splitlines()
               if line.startswith('| Balance-batch, batch_max 8, batch_cl 11 |'))
    assert row.split('|')[4].strip() == '11.00'
