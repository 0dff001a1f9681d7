"""Tests of mmext.WarmupCosineLR (Bag of Freebies, section 3.4).

References: the closed-form warmup + cosine formula transcribed here, and mmengine's
LinearLR + CosineAnnealingLR chain stepped on an identical optimizer.
"""

import math

import pytest
import torch
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

from mmext.engine.schedulers.warmup_cosine import (
    WarmupCosineLR,
    WarmupCosineMomentum,
    warmup_cosine_value,
)


def closed_form(step, base, warmup, total, f0, eta_min):
    """Transcription: linear warmup (LinearLR convention), then SGDR cosine."""
    if step < warmup:
        factor = f0 if warmup == 1 else f0 + (1 - f0) * step / (warmup - 1)
        return base * factor
    t = (step - warmup) / (total - warmup)
    return eta_min + 0.5 * (base - eta_min) * (1 + math.cos(math.pi * t))


def make_optimizer(lrs=(0.1,)):
    groups = [dict(params=[torch.nn.Parameter(torch.zeros(1))], lr=lr) for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def run(scheduler, optimizer, steps):
    """Record the lr of every group at each step (the value an iteration trains with)."""
    values = []
    for _ in range(steps):
        values.append([g['lr'] for g in optimizer.param_groups])
        optimizer.step()
        if isinstance(scheduler, (list, tuple)):
            for s in scheduler:
                s.step()
        else:
            scheduler.step()
    return values


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmengine')


@pytest.mark.parametrize(
    'warmup, total, f0, eta_min',
    [
        (5, 30, 0.001, 0.0),
        (1, 10, 0.1, 0.001),
        (0, 12, 0.5, 0.0),
        (7, 8, 0.0, 0.01),
    ],
)
def test_values_match_closed_form(warmup, total, f0, eta_min):
    opt = make_optimizer((0.1, 0.02))
    sched = WarmupCosineLR(
        opt,
        warmup=warmup,
        warmup_start_factor=f0,
        eta_min=eta_min,
        begin=0,
        end=total,
        by_epoch=False,
    )
    values = run(sched, opt, total + 3)
    for step, row in enumerate(values):
        for base, lr in zip((0.1, 0.02), row):
            s = min(step, total - 1)  # after `end` the last value is kept
            assert lr == pytest.approx(
                closed_form(s, base, warmup, total, f0, eta_min), rel=1e-12, abs=1e-15
            )
    # the module-level function is the same formula
    assert warmup_cosine_value(3, 0.1, warmup, total, f0, eta_min) == pytest.approx(
        closed_form(3, 0.1, warmup, total, f0, eta_min)
    )


def test_shape_properties():
    opt = make_optimizer()
    sched = WarmupCosineLR(
        opt, warmup=10, warmup_start_factor=0.01, begin=0, end=100, by_epoch=False
    )
    lrs = [v[0] for v in run(sched, opt, 100)]
    assert lrs[0] == pytest.approx(0.001)
    assert max(lrs) == pytest.approx(0.1)
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10]))  # increasing warmup
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # non-increasing cosine
    assert lrs[10 + 45] == pytest.approx(0.05)  # half way through the cosine phase


@pytest.mark.parametrize(
    'begin, warmup, end, f0, eta_min',
    [
        (0, 4, 40, 0.001, 0.0),
        (3, 2, 20, 0.1, 1e-4),
    ],
)
def test_equals_linear_plus_cosine_chain(begin, warmup, end, f0, eta_min):
    opt_a, opt_b = make_optimizer((0.1, 0.05)), make_optimizer((0.1, 0.05))
    ours = WarmupCosineLR(
        opt_a,
        warmup=warmup,
        warmup_start_factor=f0,
        eta_min=eta_min,
        begin=begin,
        end=end,
        by_epoch=False,
    )
    chain = [
        LinearLR(opt_b, start_factor=f0, begin=begin, end=begin + warmup, by_epoch=False),
        CosineAnnealingLR(opt_b, eta_min=eta_min, begin=begin + warmup, end=end, by_epoch=False),
    ]
    for a, b in zip(run(ours, opt_a, end + 2), run(chain, opt_b, end + 2)):
        assert a == pytest.approx(b, rel=1e-9)


@pytest.mark.parametrize('warmup, epoch_length', [(4, 7), (2, 3), (0.5, 10)])
def test_convert_to_iter_based_equals_converted_chain(warmup, epoch_length):
    end = 9
    opt_a, opt_b = make_optimizer(), make_optimizer()
    ours = PARAM_SCHEDULERS.build(
        dict(
            type='mmext.WarmupCosineLR',
            warmup=warmup,
            warmup_start_factor=0.01,
            begin=0,
            end=end,
            by_epoch=True,
            convert_to_iter_based=True,
        ),
        default_args=dict(optimizer=opt_a, epoch_length=epoch_length),
    )
    assert isinstance(ours, WarmupCosineLR) and not ours.by_epoch
    assert ours.end == end * epoch_length
    assert ours.warmup == int(warmup * epoch_length)
    chain = [
        PARAM_SCHEDULERS.build(
            dict(
                type='LinearLR',
                start_factor=0.01,
                begin=0,
                end=warmup,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
            default_args=dict(optimizer=opt_b, epoch_length=epoch_length),
        ),
        PARAM_SCHEDULERS.build(
            dict(
                type='CosineAnnealingLR',
                eta_min=0.0,
                begin=warmup,
                end=end,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
            default_args=dict(optimizer=opt_b, epoch_length=epoch_length),
        ),
    ]
    n = end * epoch_length
    for a, b in zip(run(ours, opt_a, n), run(chain, opt_b, n)):
        assert a == pytest.approx(b, rel=1e-9)


def test_by_epoch_and_eta_min_ratio():
    opt = make_optimizer((0.2, 0.1))
    sched = WarmupCosineLR(
        opt, warmup=2, warmup_start_factor=0.5, eta_min_ratio=0.1, begin=0, end=6, by_epoch=True
    )
    assert sched.by_epoch
    values = run(sched, opt, 6)
    for step, row in enumerate(values):
        for base, lr in zip((0.2, 0.1), row):
            assert lr == pytest.approx(closed_form(step, base, 2, 6, 0.5, 0.1 * base))


def test_resume_from_state_dict_and_last_step():
    opt = make_optimizer()
    sched = WarmupCosineLR(opt, warmup=3, begin=0, end=20, by_epoch=False)
    full = [v[0] for v in run(sched, opt, 20)]

    opt1 = make_optimizer()
    s1 = WarmupCosineLR(opt1, warmup=3, begin=0, end=20, by_epoch=False)
    run(s1, opt1, 8)
    state = s1.state_dict()
    opt2 = make_optimizer()
    opt2.param_groups[0]['initial_lr'] = 0.1
    opt2.param_groups[0]['lr'] = opt1.param_groups[0]['lr']
    s2 = WarmupCosineLR(opt2, warmup=3, begin=0, end=20, by_epoch=False, last_step=7)
    s2.load_state_dict(state)
    resumed = [v[0] for v in run(s2, opt2, 12)]
    assert resumed == pytest.approx(full[8:])


def test_momentum_variant():
    opt = make_optimizer()
    sched = WarmupCosineMomentum(
        opt, warmup=2, warmup_start_factor=0.5, eta_min=0.85, begin=0, end=10, by_epoch=False
    )
    values = []
    for _ in range(10):
        values.append(opt.param_groups[0]['momentum'])
        opt.step()
        sched.step()
    for step, m in enumerate(values):
        assert m == pytest.approx(closed_form(step, 0.9, 2, 10, 0.5, 0.85))


def test_in_runner_training_loop(tmp_path):
    """Driven by mmengine's ParamSchedulerHook in a real (tiny) epoch-based run."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='tensor'):
            out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
            return dict(loss=out.pow(2).mean()) if mode == 'loss' else out

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return dict(inputs=torch.ones(2))

    lrs = []

    from mmengine.hooks import Hook

    class Record(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Data(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=[
            dict(
                type='mmext.WarmupCosineLR',
                warmup=1,
                warmup_start_factor=0.1,
                by_epoch=True,
                convert_to_iter_based=True,
            )
        ],
        train_cfg=dict(by_epoch=True, max_epochs=4),
        custom_hooks=[dict(type=Record)],
        default_hooks=dict(logger=None, checkpoint=None),
        default_scope='mmengine',
    )
    runner.train()
    # 3 iterations per epoch, end defaults to max_epochs = 4 -> 12 iterations, warmup 3
    assert lrs == pytest.approx([closed_form(i, 0.1, 3, 12, 0.1, 0.0) for i in range(12)])


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(warmup=2), 'finite `end`'),
        (dict(warmup=10, end=10), r'warmup must be in \[0, end - begin\)'),
        (dict(warmup=-1, end=10), r'warmup must be in'),
        (dict(warmup=2, end=10, warmup_start_factor=1.5), 'warmup_start_factor'),
        (dict(warmup=2, end=10, eta_min=0.0, eta_min_ratio=0.1), 'at most one'),
        (dict(warmup=1.5, end=10), 'whole number'),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WarmupCosineLR(make_optimizer(), by_epoch=False, **kwargs)


def test_convert_requires_epoch_length():
    with pytest.raises(ValueError, match='epoch_length'):
        WarmupCosineLR.build_iter_from_epoch(make_optimizer(), warmup=1, end=5, by_epoch=True)
    with pytest.raises(ValueError, match='by_epoch=True'):
        WarmupCosineLR.build_iter_from_epoch(
            make_optimizer(), warmup=1, end=5, by_epoch=False, epoch_length=3
        )
