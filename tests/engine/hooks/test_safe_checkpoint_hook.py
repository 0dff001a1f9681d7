"""SafeCheckpointHook: SIGKILL at random moments of a run that checkpoints every iteration
(each resume starts from an intact checkpoint at most one interval old and the run ends with
the weights of an uninterrupted run), the order of a save's steps, the resume fallback and the
error for a damaged checkpoint, through mmengine's Runner on a tiny model."""

import json
import os
import os.path as osp
import subprocess
import sys
import traceback
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import METRICS
from mmengine.runner import Runner

import mmext  # noqa: F401
from mmext.engine.hooks import SafeCheckpointHook
from mmext.registry import HOOKS
from mmext.utils.checkpoint import InvalidCheckpointError, checkpoint_problem
from tests.engine.hooks.safe_checkpoint_kill_worker import make_cfg

WORKER = osp.join(osp.dirname(osp.abspath(__file__)), 'safe_checkpoint_kill_worker.py')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _runner(work_dir, name, **kwargs) -> Runner:
    cfg = make_cfg(str(work_dir), **kwargs)
    cfg['experiment_name'] = name
    return Runner.from_cfg(Config(cfg))


def _iters(work_dir):
    return sorted(
        int(n[5:-4]) for n in os.listdir(work_dir) if n.startswith('iter_') and n.endswith('.pth')
    )


def test_registered_and_a_checkpoint_hook():
    hook = HOOKS.build(dict(type='mmext.SafeCheckpointHook', interval=3, by_epoch=False))
    assert isinstance(hook, SafeCheckpointHook) and isinstance(hook, CheckpointHook)
    assert hook.filename_tmpl == 'iter_{}.pth'


def test_kill_at_random_moments_resumes_from_intact_checkpoints(tmp_path):
    """>= 20 SIGKILLs (random delays, and random moments inside the save steps) of forked
    mmengine runs; see safe_checkpoint_kill_worker.py."""
    report_file = tmp_path / 'report.json'
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
    )
    out = subprocess.run(
        [
            sys.executable,
            WORKER,
            str(tmp_path / 'runs'),
            str(report_file),
            '--kills',
            '20',
            '--seed',
            '0',
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    report = json.loads(report_file.read_text())
    reference = report['reference']
    assert reference['done'] and not reference['killed'] and not reference['errors']

    # control: mmengine's CheckpointHook killed while writing iter_3 has deleted iter_2
    # first: no complete checkpoint is left and last_checkpoint names a missing file
    control = report['control']
    assert control['killed'] and control['killed_at'] == 'PUT iter_3.pth'
    assert report['control_last_checkpoint'].endswith('iter_2.pth')
    assert report['control_named_problem'] == 'missing'
    assert report['control_files'] and all(report['control_files'].values())

    rounds = report['rounds']
    # every run started (resumed) and ran until killed or finished
    assert not [r['errors'] for r in rounds if r['errors']]
    kills = [r for r in rounds if r['killed']]
    assert len(kills) >= 20
    assert {r['plan'][0] for r in kills} == {'time', 'marker'}
    assert {r['plan'][1] for r in kills if r['plan'][0] == 'marker'} >= {'PUT', 'REPLACE'}
    lo = hi = 0  # bounds of the newest complete checkpoint of the current run
    previous = None
    resumed = 0
    for r in rounds:
        assert r['killed'] or r['done'], r
        if r['start'] is not None:
            # resumed from a checkpoint at most one interval older than the last iteration
            # begun before the kill (or the one the killed round itself had resumed from)
            assert lo <= r['start'] <= hi, (r, lo, hi)
            if r['start'] > 0:
                resumed += 1
                if previous is not None and previous['run'] == r['run']:
                    assert f'iter_{r["start"]}.pth' in previous['intact_after'], (previous, r)
            lo = hi = r['start']
            if r['last_iter'] is not None:
                lo, hi = max(lo, r['last_iter'] - 1), r['last_iter']
        if r['killed'] and lo > 0:
            # after every kill the newest complete checkpoint is still there, intact
            assert f'iter_{lo}.pth' in r['intact_after'] or f'iter_{hi}.pth' in r['intact_after'], r
            assert not any(
                n.endswith('.pth') and n not in r['intact_after'] for n in r['files_after']
            ), r  # no partial file under a final name
        if r['done']:
            # the interrupted, resumed chain ends where the uninterrupted run ends
            assert r['final_weights'] == pytest.approx(
                report['reference_weights'], rel=1e-6, abs=1e-7
            )
            lo = hi = 0
        previous = r
    assert resumed >= 10
    assert rounds[-1]['done']


def test_save_steps_are_ordered_and_a_failed_write_keeps_the_old_checkpoint(tmp_path):
    """write temp -> rename -> last_checkpoint (temp + rename) -> delete the old one; a write
    that dies half-way leaves the previous checkpoint and last_checkpoint untouched."""
    ops = []
    real_put, real_replace, real_remove = LocalBackend.put, os.replace, os.remove
    fail_at = {'name': None}

    def put(self, obj, filepath):
        name = osp.basename(filepath)
        ops.append(('write', name))
        if fail_at['name'] == name:
            with open(filepath, 'wb') as f:
                f.write(obj[: len(obj) // 2])
            raise OSError('disk died')
        real_put(self, obj, filepath)

    def replace(src, dst):
        ops.append(('rename', osp.basename(src), osp.basename(dst)))
        real_replace(src, dst)

    def remove(path):
        ops.append(('remove', osp.basename(path)))
        real_remove(path)

    work_dir = tmp_path / 'run'
    with (
        mock.patch.object(LocalBackend, 'put', put),
        mock.patch('os.replace', replace),
        mock.patch('os.remove', remove),
    ):
        _runner(work_dir, 'order_a', max_iters=2).train()
        assert ops == [
            ('write', '.iter_1.pth.partial'),
            ('rename', '.iter_1.pth.partial', 'iter_1.pth'),
            ('rename', '.last_checkpoint.partial', 'last_checkpoint'),
            ('write', '.iter_2.pth.partial'),
            ('rename', '.iter_2.pth.partial', 'iter_2.pth'),
            ('rename', '.last_checkpoint.partial', 'last_checkpoint'),
            ('remove', 'iter_1.pth'),
        ]
        # a longer run whose save of iteration 3 dies half-way
        fail_at['name'] = '.iter_3.pth.partial'
        with pytest.raises(OSError, match='disk died'):
            _runner(work_dir, 'order_b', max_iters=4).train()
    assert _iters(work_dir) == [2] and checkpoint_problem(str(work_dir / 'iter_2.pth')) is None
    assert open(work_dir / 'last_checkpoint').read() == str(work_dir / 'iter_2.pth')
    assert (work_dir / '.iter_3.pth.partial').exists()
    # the next run resumes from iter_2, removes the leftover and finishes
    runner = _runner(work_dir, 'order_c', max_iters=4)
    runner.train()
    assert runner.iter == 4
    assert _iters(work_dir) == [4]
    assert not [n for n in os.listdir(work_dir) if n.endswith('.partial')]


@METRICS.register_module()
class MmextSafeCkptScore(BaseMetric):
    """Score = number of evaluations so far (every validation is a new best)."""

    calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        type(self).calls += 1
        return dict(score=float(type(self).calls))


def test_best_checkpoint_replaced_only_after_the_new_one_is_complete(tmp_path):
    ops = []
    real_replace, real_remove = os.replace, os.remove

    def replace(src, dst):
        ops.append(('rename', osp.basename(dst)))
        real_replace(src, dst)

    def remove(path):
        ops.append(('remove', osp.basename(path)))
        real_remove(path)

    cfg = make_cfg(str(tmp_path), max_iters=2, max_keep_ckpts=-1)
    cfg.update(
        experiment_name='best_ckpt',
        val_dataloader=dict(
            cfg['train_dataloader'], sampler=dict(type='DefaultSampler', shuffle=False)
        ),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='MmextSafeCkptScore'),
    )
    cfg['train_cfg']['val_interval'] = 1
    cfg['default_hooks']['checkpoint'].update(save_best='score', rule='greater')
    runner = Runner.from_cfg(Config(cfg))
    with mock.patch('os.replace', replace), mock.patch('os.remove', remove):
        runner.train()
    assert ops.index(('rename', 'best_score_iter_2.pth')) < ops.index(
        ('remove', 'best_score_iter_1.pth')
    )
    names = os.listdir(tmp_path)
    assert 'best_score_iter_2.pth' in names and 'best_score_iter_1.pth' not in names
    assert checkpoint_problem(str(tmp_path / 'best_score_iter_2.pth')) is None


@pytest.mark.parametrize('damage', ['missing', 'truncated'])
def test_resume_falls_back_with_a_warning_naming_both(tmp_path, damage):
    work_dir = tmp_path / 'run'
    _runner(work_dir, f'fallback_a_{damage}', max_iters=3, max_keep_ckpts=-1).train()
    assert _iters(work_dir) == [1, 2, 3]
    named = work_dir / 'iter_3.pth'
    if damage == 'missing':
        os.remove(named)
    else:
        data = named.read_bytes()
        named.write_bytes(data[: len(data) // 3])
    runner = _runner(work_dir, f'fallback_b_{damage}', max_iters=5, max_keep_ckpts=-1)
    with mock.patch.object(runner.logger, 'warning', wraps=runner.logger.warning) as warn:
        runner.train()
    messages = [str(c.args[0]) for c in warn.call_args_list]
    fallback = [m for m in messages if 'newest intact checkpoint' in m]
    assert len(fallback) == 1, messages
    assert str(named) in fallback[0] and str(work_dir / 'iter_2.pth') in fallback[0]
    assert ('missing' if damage == 'missing' else 'truncated') in fallback[0]
    assert runner.iter == 5 and checkpoint_problem(str(work_dir / 'iter_5.pth')) is None
    # resumed from iteration 2: the message hub of iter_2 (2 losses) + iterations 3, 4, 5
    ckpt = torch.load(work_dir / 'iter_5.pth', weights_only=True)
    assert len(ckpt['message_hub']['log_scalars']['train/loss'].data[0]) == 5


@pytest.mark.parametrize('how', ['load_from', 'last_checkpoint'])
def test_resume_from_a_damaged_file_names_it_without_unsafe_advice(tmp_path, how):
    """The bad input of the issue: a garbage file; torch alone would advise
    weights_only=False."""
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    garbage = work_dir / 'iter_7.pth'
    garbage.write_bytes(os.urandom(2048))
    if how == 'load_from':
        runner = _runner(work_dir, 'garbage_a', max_iters=8)
        runner._load_from = str(garbage)
        expected = InvalidCheckpointError
    else:
        (work_dir / 'last_checkpoint').write_text(str(garbage))
        runner = _runner(work_dir, 'garbage_b', max_iters=8)
        expected = FileNotFoundError  # nothing intact to fall back to
    with pytest.raises(expected) as err:
        runner.train()
    shown = ''.join(traceback.format_exception(err.value))
    assert str(garbage) in str(err.value)
    assert 'not a valid checkpoint' in str(err.value) or 'not a torch checkpoint' in str(err.value)
    for advice in ('weights_only', 'arbitrary code', 'trusted source'):
        assert advice not in shown, shown


def test_only_local_storage(tmp_path):
    """os.replace is atomic on a local file system only; other backends are refused."""
    runner = mock.MagicMock(work_dir=str(tmp_path))
    runner.message_hub.runtime_info = {}
    SafeCheckpointHook(interval=1, by_epoch=False).before_train(runner)
    SafeCheckpointHook(
        interval=1, by_epoch=False, file_client_args=dict(backend='disk')
    ).before_train(runner)
    remote = SafeCheckpointHook(interval=1, by_epoch=False, file_client_args=dict(backend='http'))
    with pytest.raises(ValueError, match='needs a local out_dir.*HTTPBackend'):
        remote.before_train(runner)
