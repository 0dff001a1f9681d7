"""tools/gpu_check.sh's logic on the CPU (issue 30 item 5): the ops check, one digits config
trained through the AMP launch path, one step comparison, and the report."""

import os.path as osp

import pytest
import torch

from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
gpu_check = load_script('tools/misc/gpu_check.py')

ICU_DIGITS = 'configs/icu_loss/digits/icu_lenetpp-2d_1xb32-1k_digits-cls.py'
SOFTMAX_DIGITS = 'configs/icu_loss/digits/softmax_lenetpp-2d_1xb32-1k_digits-cls.py'


def test_every_listed_config_exists():
    for config in gpu_check.DIGITS_CONFIGS:
        assert osp.isfile(osp.join(REPO, config)), config
    for _, config, upstream, kind, size, batch in gpu_check.STEP_PAIRS:
        assert osp.isfile(osp.join(REPO, config)) and osp.isfile(osp.join(REPO, upstream))
        assert kind in ('seg', 'det', 'cls') and len(size) == 2 and batch >= 1


def test_device_choice():
    assert gpu_check.pick_device('cpu') == 'cpu'
    if not torch.cuda.is_available():
        assert gpu_check.pick_device('auto') == 'cpu'
        with pytest.raises(RuntimeError, match='--device cpu'):
            gpu_check.pick_device('cuda')


def test_ops_run_on_the_cpu():
    record = gpu_check.check_ops('cpu')
    assert record['flavour'].startswith('mmcv ops: ')
    assert record['nms'].startswith('ok (') and record['roi_align'] == 'ok (1, 4, 7, 7)'


def test_a_digits_config_trains_with_amp(workspace, tmp_path):
    row = gpu_check.train_digits(ICU_DIGITS, 'cpu', 3, str(tmp_path), data_cwd=workspace)
    assert row['ok'], row['error']
    assert row['last_loss'] is not None and row['last_loss'] == row['last_loss']  # not NaN
    assert osp.isfile(tmp_path / 'icu_lenetpp-2d_1xb32-1k_digits-cls' / 'iter_3.pth')


def test_cpu_autocast_skips_two_stage_detectors():
    """mmcv's CPU NMS has no bfloat16 kernel: a Faster R-CNN under CPU autocast fails with
    "expected scalar type Float but found BFloat16" (found by this check)."""
    assert gpu_check.amp_on('cpu', dict(type='YOLOV3', bbox_head={}))
    assert not gpu_check.amp_on('cpu', dict(type='FasterRCNN', rpn_head={}, roi_head={}))
    assert gpu_check.amp_on('cuda', dict(type='FasterRCNN', rpn_head={}, roi_head={}))


def test_a_failing_config_is_recorded_not_raised(tmp_path):
    row = gpu_check.train_digits('configs/no_such.py', 'cpu', 2, str(tmp_path))
    assert not row['ok'] and 'FileNotFoundError' in row['error']


def test_step_comparison_and_report(monkeypatch):
    monkeypatch.setattr(
        gpu_check,
        'STEP_PAIRS',
        (('ICU vs softmax, LeNet++', ICU_DIGITS, SOFTMAX_DIGITS, 'cls', (28, 28), 4),),
    )
    rows = gpu_check.compare_steps('cpu', steps=1, scale=1.0, max_batch=None)
    assert len(rows) == 1 and 'error' not in rows[0], rows
    row = rows[0]
    assert row['size'] == (32, 32)  # rounded to a multiple of 32
    assert row['ours']['seconds_per_step'] > 0 and row['ours']['syncs_per_step'] is None
    assert row['time_ratio'] == pytest.approx(
        row['ours']['seconds_per_step'] / row['upstream_result']['seconds_per_step']
    )
    result = dict(
        command='python tools/misc/gpu_check.py --device cpu',
        device='cpu',
        device_name='CPU',
        settings='1 step',
        train_iters=3,
        steps=1,
        ops=gpu_check.check_ops('cpu'),
        digits=[dict(config=ICU_DIGITS, ok=False, seconds=1.0, last_loss=None, error='boom')],
        full_scale=rows + [dict(name='broken', size=(32, 32), batch=1, error='OOM')],
    )
    text = '\n'.join(gpu_check.report(result))
    assert '**CPU run**' in text and 'CPU timings, not GPU ones' in text
    assert '| `icu_lenetpp-2d_1xb32-1k_digits-cls.py` | FAIL: boom | 1.0 | - | on |' in text
    assert f'{row["time_ratio"]:.2f}x' in text and '| broken | (32, 32) x1 | FAILED: OOM' in text
