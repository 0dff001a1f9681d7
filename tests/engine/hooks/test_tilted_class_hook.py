"""Tests of TiltedClassHook (Algorithm 1, lines 5-8) with TiltedClassSampler."""

import io
import math
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement
from torch.utils.data import DataLoader

from mmext.datasets.samplers.class_index import ClassIndex
from mmext.datasets.samplers.tilted_class_sampler import TiltedClassSampler
from mmext.engine.hooks import tilted_class_hook as hook_module
from mmext.engine.hooks.tilted_class_hook import TiltedClassHook
from tests.scripts import run_torchrun


class ToyDataset:
    """mmengine-style dataset whose samples carry only ``img_path`` (as PackSegInputs)."""

    def __init__(self, rows, num_classes):
        self.rows = [list(r) for r in rows]
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))

    def __len__(self):
        return len(self.rows)

    def get_data_info(self, idx):
        return dict(img_path=f'img_{idx}.png')

    def __getitem__(self, idx):
        return dict(
            inputs=torch.zeros(1),
            data_samples=BaseDataElement(metainfo=dict(img_path=f'img_{idx}.png')),
        )


class FakeRunner:
    def __init__(self, sampler, dataset, iteration=0, resume=False):
        self.train_dataloader = SimpleNamespace(batch_sampler=sampler, dataset=dataset)
        self.message_hub = MessageHub.get_instance('tce_hook_test')
        self.visualizer = mock.MagicMock()
        self.iter = iteration
        self.train_loop = object()
        self._resume = resume


def setup(rows, k, batch_size=2, seed=0, **hook_kwargs):
    ds = ToyDataset(rows, k)
    sampler = TiltedClassSampler(
        batch_size=batch_size,
        dataset=ds,
        seed=seed,
        infinite=True,
        class_index=ClassIndex.from_lists(rows, k),
    )
    hook = TiltedClassHook(**hook_kwargs)
    runner = FakeRunner(sampler, ds)
    hook.before_train(runner)
    return ds, sampler, hook, runner


def class_of_batch(ds, data_batch):
    """Ground truth from the batch's own images (each toy image holds one class)."""
    idx = [int(s.metainfo['img_path'][4:-4]) for s in data_batch['data_samples']]
    classes = {ds.rows[i][0] for i in idx}
    assert len(classes) == 1
    return classes.pop()


def test_update_matches_hand_computed_sequence():
    rows = [[0], [1], [2], [0]]
    ds, sampler, hook, runner = setup(rows, 3, tilt=1.0, gamma=0.5)
    np.testing.assert_allclose(hook.weights(), [1 / 3] * 3)
    # L~ starts at exp(t log K) = 3 for every class
    tilde = [3.0, 3.0, 3.0]
    for c, loss in [(0, 1.0), (2, 0.2), (0, 2.0), (1, 0.0), (2, 3.5)]:
        hook.update(c, loss)
        tilde[c] = 0.5 * tilde[c] + 0.5 * math.exp(1.0 * loss)
        hook._push_weights()
        expected = np.array(tilde) / sum(tilde)
        np.testing.assert_allclose(hook.weights(), expected, rtol=1e-12)
        np.testing.assert_allclose(sampler.class_weights, expected, rtol=1e-12)


def test_image_count_prior_and_negative_tilt():
    rows = [[0], [0], [0], [1], [0, 2]]
    ds, sampler, hook, runner = setup(rows, 3, tilt=-2.0, gamma=0.25, class_prior='image_count')
    counts = np.array([4.0, 1.0, 1.0])
    np.testing.assert_allclose(hook.weights(), counts / counts.sum())
    tilde = np.full(3, math.exp(-2.0 * math.log(3)))
    hook.update(1, 0.7)
    tilde[1] = 0.75 * tilde[1] + 0.25 * math.exp(-2.0 * 0.7)
    np.testing.assert_allclose(hook.weights(), counts * tilde / (counts * tilde).sum())


def test_huge_tilted_losses_do_not_overflow():
    rows = [[0], [1], [2]]
    ds, sampler, hook, runner = setup(rows, 3, tilt=100.0, gamma=0.1)
    hook.update(0, 20.0)  # exp(2000) overflows float64
    hook.update(1, 19.9)
    w = hook.weights()
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    # L~_0 / L~_1 = exp(100 * 0.1) (the initial L~ is negligible next to both)
    assert w[0] / w[1] == pytest.approx(math.exp(10.0), rel=1e-9)
    assert w[2] < 1e-300 or w[2] == 0


def test_prefetching_workers_are_matched_to_their_class():
    k, t, gamma = 4, 0.8, 0.3
    rows = [[i % k] for i in range(24)]
    loss_of = {0: 0.25, 1: 1.125, 2: 0.625, 3: 2.0}  # exact in float32
    ds, sampler, hook, runner = setup(rows, k, tilt=t, gamma=gamma)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=2, collate_fn=pseudo_collate)
    tilde = np.full(k, math.exp(t * math.log(k)))
    saw_prefetch = False
    it = iter(loader)
    for step in range(40):
        data_batch = next(it)
        c = class_of_batch(ds, data_batch)
        # the sampler has drawn ahead: its newest draw is generally not this batch
        saw_prefetch |= len(sampler._issued) > 1 and sampler._issued[-1].cls != c
        runner.iter = step
        hook.after_train_iter(runner, step, data_batch, outputs=dict(loss=torch.tensor(loss_of[c])))
        tilde[c] = (1 - gamma) * tilde[c] + gamma * math.exp(t * loss_of[c])
    del it
    assert saw_prefetch
    np.testing.assert_allclose(hook.weights(), tilde / tilde.sum(), rtol=1e-10)
    assert hook.counts.sum() == 40


def test_faked_distributed_all_reduce():
    rows = [[0], [1], [2], [0], [1], [2]]
    ds, sampler, hook, runner = setup(rows, 3, tilt=1.0, gamma=0.5)
    it = iter(sampler)
    batch = next(it)
    rec = sampler._issued[0]
    other = {'cls': rec.cls, 'loss': 2.0}

    def fake_all_reduce(tensor, op='sum'):  # rank 1 trained on the same class
        assert op == 'sum'
        tensor[other['cls']] += other['loss']
        tensor[3 + other['cls']] += 1

    data_batch = dict(data_samples=[ds[i]['data_samples'] for i in batch])
    with (
        mock.patch.object(hook_module, 'get_dist_info', return_value=(0, 2)),
        mock.patch.object(hook_module, 'all_reduce', side_effect=fake_all_reduce),
    ):
        hook.after_train_iter(runner, 0, data_batch, outputs=dict(loss=torch.tensor(1.0)))
        tilde = np.full(3, 3.0)
        tilde[rec.cls] = 0.5 * 3.0 + 0.5 * math.exp((1.0 + 2.0) / 2)  # mean over ranks
        np.testing.assert_allclose(hook.weights(), tilde / tilde.sum())
        # ranks that drew different classes: both classes are updated
        batch = next(it)
        rec2 = sampler._issued[0]
        other['cls'] = (rec2.cls + 1) % 3
        data_batch = dict(data_samples=[ds[i]['data_samples'] for i in batch])
        hook.after_train_iter(runner, 1, data_batch, outputs=dict(loss=torch.tensor(0.5)))
        tilde[rec2.cls] = 0.5 * tilde[rec2.cls] + 0.5 * math.exp(0.5)
        tilde[other['cls']] = 0.5 * tilde[other['cls']] + 0.5 * math.exp(2.0)
        np.testing.assert_allclose(hook.weights(), tilde / tilde.sum())
    assert hook.counts.sum() == 4


def test_checkpoint_resume_round_trip_continues_the_stream():
    rows = [[i % 5, (i * 3) % 5] for i in range(30)]

    def step(hook, runner, ds, batch, i):
        runner.iter = i
        data_batch = dict(data_samples=[ds[j]['data_samples'] for j in batch])
        loss = 0.1 * (sum(batch) % 7)  # any function of the batch contents
        hook.after_train_iter(runner, i, data_batch, outputs=dict(loss=loss))
        return tuple(batch)

    ds, sampler, hook, runner = setup(rows, 5, tilt=1.5, gamma=0.2)
    it = iter(sampler)
    for i in range(10):
        step(hook, runner, ds, next(it), i)
    prefetched = [next(it), next(it)]  # drawn by the workers at checkpoint time
    checkpoint = dict(meta=dict(iter=10))
    hook.before_save_checkpoint(runner, checkpoint)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    buf.seek(0)
    restored = torch.load(buf, weights_only=True)  # plain Python types only
    # the uninterrupted run
    ref = [step(hook, runner, ds, b, 10 + i) for i, b in enumerate(prefetched)]
    ref += [step(hook, runner, ds, next(it), 12 + i) for i in range(13)]

    # a fresh process: other seed; the loop's iterator prefetched 1 batch before resuming
    ds2 = ToyDataset(rows, 5)
    sampler2 = TiltedClassSampler(
        batch_size=2,
        dataset=ds2,
        seed=99,
        infinite=True,
        class_index=ClassIndex.from_lists(rows, 5),
    )
    hook2 = TiltedClassHook(tilt=1.5, gamma=0.2)
    runner2 = FakeRunner(sampler2, ds2, iteration=10, resume=True)
    runner2.train_loop = mock.MagicMock(spec=hook_module.IterBasedTrainLoop)
    it2 = iter(sampler2)
    next(it2)
    hook2.after_load_checkpoint(runner2, restored)
    hook2.before_train(runner2)
    for _ in range(9):  # IterBasedTrainLoop discards `iter` = 10 batches: 1 drawn + 9
        next(it2)
    got = [step(hook2, runner2, ds2, next(it2), 10 + i) for i in range(15)]
    assert got == ref
    np.testing.assert_allclose(hook2.weights(), hook.weights())
    np.testing.assert_array_equal(hook2.counts, hook.counts)
    # a plain load_from (no resume) leaves the state alone
    hook3 = TiltedClassHook(tilt=1.5, gamma=0.2)
    hook3.after_load_checkpoint(FakeRunner(sampler2, ds2), restored)
    assert hook3._resumed_state is None


def test_logging_and_errors():
    rows = [[0], [1]]
    ds, sampler, hook, runner = setup(rows, 2, log_interval=2)
    it = iter(sampler)
    batch = next(it)
    data_batch = dict(data_samples=[ds[i]['data_samples'] for i in batch])
    with pytest.raises(KeyError, match="'loss_ce' not in"):
        TiltedClassHook(loss_key='loss_ce')._batch_loss(dict(loss=1.0))
    runner.iter = 1
    hook.after_train_iter(runner, 1, data_batch, outputs=dict(loss=torch.tensor(0.5)))
    scalars = runner.visualizer.add_scalars.call_args[0][0]
    assert set(scalars) == {'tce/weight/c0', 'tce/weight/c1', 'tce/count/c0', 'tce/count/c1'}
    assert sum(scalars[f'tce/count/c{i}'] for i in range(2)) == 1
    assert runner.message_hub.get_scalar('train/tce_weight_max').current() == max(
        scalars['tce/weight/c0'], scalars['tce/weight/c1']
    )
    batch = next(it)
    data_batch = dict(data_samples=[ds[i]['data_samples'] for i in batch])
    before = hook.weights()
    with pytest.warns(UserWarning, match='non-finite'):
        hook.after_train_iter(runner, 2, data_batch, outputs=dict(loss=float('nan')))
    np.testing.assert_array_equal(hook.weights(), before)
    with pytest.raises(ValueError, match='gamma'):
        TiltedClassHook(gamma=0.0)
    with pytest.raises(ValueError, match='class_prior'):
        TiltedClassHook(class_prior='pixels')
    with pytest.raises(TypeError, match='TiltedClassSampler'):
        TiltedClassHook().setup(object())
    runner.train_loop = mock.MagicMock(spec=hook_module.EpochBasedTrainLoop)
    with pytest.raises(ValueError, match='never ends an epoch'):
        TiltedClassHook().before_train(runner)  # the sampler is infinite


def test_runner_end_to_end_resume(tmp_path):
    """A real mmseg Runner (tiny DeepLabV3+ on digits, 2 prefetching workers): the hook
    matches every batch, saves the pending batches at iteration 5, and a resumed run trains
    exactly those batches next (the loop's iterator prefetches 4 batches before the resume
    is applied; they count towards the 5 batches the loop skips), then continues with the
    same draws from the restored RNG and ends with the same weights as the uninterrupted
    run."""
    import copy
    import os.path as osp
    import warnings

    from mmengine.config import Config
    from mmengine.runner import Runner

    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    cfg = Config.fromfile(
        osp.join(
            repo,
            'configs',
            'tilted_ce',
            'digits',
            'deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py',
        )
    )
    cfg.work_dir = str(tmp_path / 'run_a')
    loader = cfg.train_dataloader
    loader.dataset.data_root = str(tmp_path / 'digits')
    loader.dataset.num_images = 24
    loader.batch_size, loader.num_workers, loader.persistent_workers = 2, 2, False
    loader.batch_sampler.cache_dir = False
    for key in (
        'val_dataloader',
        'val_cfg',
        'val_evaluator',
        'test_dataloader',
        'test_cfg',
        'test_evaluator',
    ):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=12)
    # dropout draws from the main process's torch RNG, which mmengine does not checkpoint;
    # without it the resumed run computes the same losses, hence the same weights
    cfg.model.decode_head.dropout_ratio = 0.0
    cfg.model.auxiliary_head.dropout_ratio = 0.0
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=5, max_keep_ckpts=3
    )
    cfg.default_hooks.logger.interval = 1
    cfg.experiment_name = f'tce_e2e_a_{tmp_path.name}'
    cfg_b = copy.deepcopy(cfg)

    popped = []
    original = TiltedClassSampler.pop_record

    def spy(self, *args, **kwargs):
        record = original(self, *args, **kwargs)
        popped.append(record)
        return record

    with (
        mock.patch.object(TiltedClassSampler, 'pop_record', spy),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter('always')
        runner_a = Runner.from_cfg(cfg)
        runner_a.train()
    assert not [w for w in caught if 'TiltedClass' in str(w.message)]
    assert len(popped) == 12 and all(r is not None for r in popped)
    hook_a = next(h for h in runner_a.hooks if isinstance(h, TiltedClassHook))
    stream_a = [(r.cls, r.indices) for r in popped]
    ckpt = torch.load(osp.join(cfg.work_dir, 'iter_5.pth'), weights_only=True)
    state = ckpt['tilted_class_hook']
    assert sum(state['counts']) == 5
    pending = [(int(c), tuple(idx)) for c, idx in state['sampler']['pending']]
    assert len(pending) == 4  # 2 workers x prefetch factor 2 drawn ahead
    assert stream_a[5:9] == pending

    popped.clear()
    cfg_b.work_dir = str(tmp_path / 'run_b')
    cfg_b.resume = True
    cfg_b.load_from = osp.join(cfg.work_dir, 'iter_5.pth')
    cfg_b.experiment_name = f'tce_e2e_b_{tmp_path.name}'
    with (
        mock.patch.object(TiltedClassSampler, 'pop_record', spy),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter('always')
        runner = Runner.from_cfg(cfg_b)
        runner.train()
    assert not [w for w in caught if 'TiltedClass' in str(w.message)]
    # the 5 skipped batches are never matched; the next 4 are the checkpoint's pending ones,
    # the last 3 new draws from the restored RNG: the uninterrupted run's stream
    stream_b = [(r.cls, r.indices) for r in popped]
    assert stream_b[:4] == pending
    assert stream_b == stream_a[5:]
    hook = next(h for h in runner.hooks if isinstance(h, TiltedClassHook))
    assert hook.counts.sum() == 12
    np.testing.assert_array_equal(hook.counts, hook_a.counts)
    np.testing.assert_allclose(hook.log_tilde, hook_a.log_tilde, rtol=1e-6)
    np.testing.assert_allclose(hook.weights(), hook_a.weights(), rtol=1e-5)


def test_real_two_process_gloo_run(tmp_path):
    """torchrun, 2 CPU processes on gloo, 2 prefetching DataLoader workers per rank."""
    import json
    import os.path as osp

    worker = osp.join(osp.dirname(__file__), 'dist_tilted_class_worker.py')
    out = tmp_path / 'result.json'
    returncode, log = run_torchrun(worker, str(out), timeout=60)
    assert returncode == 0, log[-3000:]
    result = json.loads(out.read_text())
    rows = result['rows']
    r0, r1 = result['ranks']
    assert r0['counts'] == r1['counts'] and sum(r0['counts']) == 2 * 30
    tilde = np.full(5, 5.0)  # exp(t log K), t = 1, K = 5
    for s0, s1 in zip(r0['steps'], r1['steps']):
        assert s0['cls'] == s1['cls']  # the same class on both ranks
        c = s0['cls']
        assert all(c in rows[i] for i in s0['indices'] + s1['indices'])
        assert not set(s0['indices']) & set(s1['indices'])  # different images
        tilde[c] = 0.7 * tilde[c] + 0.3 * math.exp((s0['loss'] + s1['loss']) / 2)
        np.testing.assert_allclose(s0['weights'], tilde / tilde.sum(), rtol=1e-9)
        assert s0['weights'] == s1['weights']  # bitwise identical on both ranks


def test_class_batch_loss_reads_the_drawn_class_record():
    """batch_loss='class': L_B is the drawn class's pixel CE from the loss's record."""
    from mmext.models.losses import ClassTrackedCrossEntropyLoss

    k, t, gamma = 3, 1.0, 0.5
    rows = [[i % k] for i in range(12)]
    ds, sampler, hook, runner = setup(rows, k, tilt=t, gamma=gamma, batch_loss='class')
    loss = ClassTrackedCrossEntropyLoss().train()
    logits = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.0]], [[0.0, 0.0]]]])  # (1, 3, 1, 2)
    tilde = np.full(k, math.exp(t * math.log(k)))
    it = iter(DataLoader(ds, batch_sampler=sampler, collate_fn=pseudo_collate))
    for step in range(6):
        data_batch = next(it)
        c = class_of_batch(ds, data_batch)
        label = torch.tensor([[[c, (c + 1) % k]]])  # one pixel of c, one of another class
        with mock.patch.object(MessageHub, 'get_current_instance', return_value=runner.message_hub):
            loss(logits, label, ignore_index=255)
        # by hand: -log softmax(logits[:, pixel 0])[c]
        col = logits[0, :, 0, 0].double()
        l_c = float(-(col[c] - torch.logsumexp(col, 0)))
        # the whole batch's mean CE would differ: the hook must not use outputs['loss']
        hook.after_train_iter(runner, step, data_batch, outputs=dict(loss=torch.tensor(9.0)))
        tilde[c] = (1 - gamma) * tilde[c] + gamma * math.exp(t * l_c)
        np.testing.assert_allclose(hook.weights(), tilde / tilde.sum(), rtol=1e-6)
    # a missing record names the loss to use
    with pytest.raises(KeyError, match='ClassTrackedCrossEntropyLoss'):
        hook.after_train_iter(runner, 6, next(it), outputs=dict(loss=torch.tensor(1.0)))
    with pytest.raises(ValueError, match='batch_loss'):
        TiltedClassHook(batch_loss='pixel')
