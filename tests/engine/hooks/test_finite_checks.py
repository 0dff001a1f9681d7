"""A diverging run stops at its first non-finite loss and keeps its last good checkpoint;
SafeCheckpointHook never writes non-finite weights and refuses unknown arguments when built
(issue 26, items 1 and 4), through mmengine's Runner on a tiny model."""

import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmext  # noqa: F401
from mmext.engine.hooks import (
    FiniteLossHook,
    NonFiniteLossError,
    NonFiniteWeightsError,
    SafeCheckpointHook,
)
from mmext.engine.hooks.finite_checks import check_finite_weights
from mmext.registry import HOOKS
from tests.engine.hooks.safe_checkpoint_kill_worker import make_cfg


def _runner(work_dir, lr=0.05, max_iters=8, interval=2, **hook) -> Runner:
    cfg = make_cfg(str(work_dir), max_iters=max_iters, resume=False)
    cfg['optim_wrapper']['optimizer']['lr'] = lr
    cfg['default_hooks']['checkpoint'].update(interval=interval, **hook)
    cfg['experiment_name'] = f'finite_{osp.basename(str(work_dir))}'
    return Runner.from_cfg(Config(cfg))


def _checkpoints(work_dir):
    return sorted(n for n in os.listdir(work_dir) if n.startswith('iter_') and n.endswith('.pth'))


def _all_finite(path) -> bool:
    state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_diverging_run_stops_at_first_nan_and_keeps_last_good_checkpoint(tmp_path):
    # lr 1e30 on y = Wx + b: the loss overflows within a few iterations (issue: lr=1e30)
    runner = _runner(tmp_path, lr=1e30, max_iters=40, interval=1)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    stopped_at = runner.iter + 1
    assert f'iteration {stopped_at} ' in message and 'loss=' in message
    assert stopped_at < 40  # stopped, not trained to the end
    saved = _checkpoints(tmp_path)
    assert saved, 'the last good checkpoint must be kept'
    # the one kept is from an iteration before the non-finite loss, and its weights are finite
    assert all(int(n[5:-4]) < stopped_at for n in saved)
    assert all(_all_finite(osp.join(tmp_path, n)) for n in saved)
    last = open(osp.join(tmp_path, 'last_checkpoint')).read().strip()
    assert osp.basename(last) in saved and osp.basename(last) in message


def test_check_off_trains_to_the_end(tmp_path):
    """check_finite_loss=0 restores mmengine's behaviour for the loss; weights are still
    checked at every save, so the run fails at the first save after the divergence."""
    runner = _runner(tmp_path, lr=1e30, max_iters=40, interval=10, check_finite_loss=0)
    with pytest.raises(NonFiniteWeightsError, match='refusing to write the checkpoint'):
        runner.train()
    assert runner.iter + 1 == 10  # got as far as the first save
    assert _checkpoints(tmp_path) == []  # nothing with nan weights was written


def test_non_finite_weights_are_never_saved_and_the_old_checkpoint_stays(tmp_path):
    runner = _runner(tmp_path, max_iters=4, interval=2, check_finite_loss=0)
    runner.train()
    assert _checkpoints(tmp_path) == ['iter_4.pth']
    hook = next(h for h in runner.hooks if isinstance(h, SafeCheckpointHook))
    with torch.no_grad():
        runner.model.linear.weight[0, 3] = math.nan
    with pytest.raises(NonFiniteWeightsError, match=r'1 of 2 weight tensors.*linear\.weight'):
        hook._save_checkpoint_with_step(runner, 6, meta=dict(iter=6))
    assert _checkpoints(tmp_path) == ['iter_4.pth']
    assert open(osp.join(tmp_path, 'last_checkpoint')).read().strip().endswith('iter_4.pth')
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.partial')]


def test_finite_run_is_unchanged(tmp_path):
    runner = _runner(tmp_path, max_iters=4, interval=2)
    runner.train()
    assert _checkpoints(tmp_path) == ['iter_4.pth'] and _all_finite(tmp_path / 'iter_4.pth')


def test_standalone_hook_and_interval(tmp_path):
    cfg = make_cfg(str(tmp_path), max_iters=30, resume=False)
    cfg['optim_wrapper']['optimizer']['lr'] = 1e30
    cfg['default_hooks']['checkpoint'] = dict(type='CheckpointHook', interval=1000)
    cfg['custom_hooks'].append(dict(type='mmext.FiniteLossHook', interval=4))
    cfg['experiment_name'] = 'finite_standalone'
    runner = Runner.from_cfg(Config(cfg))
    with pytest.raises(NonFiniteLossError):
        runner.train()
    assert (runner.iter + 1) % 4 == 0  # only every 4th iteration is looked at


@pytest.mark.parametrize('bad', [-1, 1.5, True, None, 'x'])
def test_interval_values_are_checked(bad):
    with pytest.raises((TypeError, ValueError), match='interval'):
        FiniteLossHook(interval=bad)
    with pytest.raises((TypeError, ValueError), match='check_finite_loss'):
        SafeCheckpointHook(interval=1, check_finite_loss=bad)


def test_unknown_hook_argument_fails_when_built_naming_the_accepted_ones():
    with pytest.raises(TypeError) as err:
        HOOKS.build(dict(type='mmext.SafeCheckpointHook', intervl=5))
    message = str(err.value)
    assert "'intervl' (did you mean 'interval'?)" in message
    for accepted in ('interval', 'max_keep_ckpts', 'save_best', 'check_finite_loss'):
        assert accepted in message
    # the keywords mmengine's own configs use still build
    HOOKS.build(
        dict(
            type='mmext.SafeCheckpointHook',
            interval=5,
            by_epoch=False,
            max_keep_ckpts=2,
            save_best='auto',
            rule='greater',
            save_last=True,
            published_keys=None,
        )
    )


def test_check_finite_weights_counts_parameters_and_buffers():
    model = torch.nn.BatchNorm1d(3)
    check_finite_weights(model)  # finite: no error
    model.running_var[1] = math.inf
    with pytest.raises(NonFiniteWeightsError, match='1 of 4 weight tensors.*running_var'):
        check_finite_weights(model)
