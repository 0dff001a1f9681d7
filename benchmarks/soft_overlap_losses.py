"""Soft Dice / Soft IoU forward+backward time and peak memory vs mmseg's losses.

Targets (issue): at logits (2, 19, 512, 1024) float32, ``mmext.SoftDiceLoss`` and
``mmext.SoftIoULoss`` take <= 1.3x the time of mmseg's ``CrossEntropyLoss`` and need
<= 2x the logits' bytes of extra memory. mmseg's ``DiceLoss`` (softmax, V-Net form) is
measured too.

Method: every loss runs in its own fresh subprocess (``--worker``). The worker warms
autograd up on a tiny input, allocates the logits (``requires_grad``) and labels (10 % of
the pixels 255 = ignored), reads the peak resident set size (``ru_maxrss``, tracked by the
kernel), runs forward + backward once and reads it again: the difference is the extra
peak memory of one training step of the loss, the logits' gradient included (1x the logits
is the floor of any loss). glibc's adaptive mmap threshold is pinned
(``MALLOC_MMAP_THRESHOLD_``) so that freed large buffers go back to the OS instead of
inflating the peak of later allocations. Time: median of ``--repeats`` forward+backward
passes in the same worker after the memory probe, in CPU time of the (single) worker thread
(``time.thread_time``, so that other processes sharing the cores do not inflate it; run with
``OMP_NUM_THREADS=1``); workers for the different losses
alternate, ``--rounds`` times, and the medians over rounds are compared.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/soft_overlap_losses.py [--quick]
"""

import argparse
import functools
import json
import os
import os.path as osp
import subprocess
import sys
import time

from timing import (
    command_line,
    machine_info,
    median,
    run_interleaved,
    timed,
    verdict,
    write_results,
)

LOSSES = ('ce', 'mmseg_dice', 'soft_dice', 'soft_iou')
LABELS = {
    'ce': 'mmseg CrossEntropyLoss',
    'mmseg_dice': 'mmseg DiceLoss (softmax)',
    'soft_dice': 'mmext SoftDiceLoss',
    'soft_iou': 'mmext SoftIoULoss',
}


def build_loss(name: str):
    """The loss module ``name`` (mmseg's via its registry, mmext's directly)."""
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    import mmext  # noqa: F401

    cfg = dict(
        ce=dict(type='CrossEntropyLoss', loss_weight=1.0),
        mmseg_dice=dict(type='DiceLoss', use_sigmoid=False, loss_weight=1.0),
        soft_dice=dict(type='mmext.SoftDiceLoss'),
        soft_iou=dict(type='mmext.SoftIoULoss'),
    )[name]
    return MODELS.build(cfg)


def worker(name: str, shape, repeats: int) -> dict:
    """Memory probe then timing of one loss; runs in a fresh process."""
    import resource
    import warnings

    import torch

    warnings.filterwarnings('ignore')
    loss_fn = build_loss(name)
    n, c, h, w = shape
    tiny = torch.randn(1, c, 4, 4, requires_grad=True)  # initialise autograd & kernels
    loss_fn(tiny, torch.randint(0, c, (1, 4, 4)), ignore_index=255).backward()
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(n, c, h, w, generator=gen, requires_grad=True)
    label = torch.randint(0, c, (n, h, w), generator=gen)
    label[torch.rand(n, h, w, generator=gen) < 0.1] = 255
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loss_fn(logits, label, ignore_index=255).backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    extra = (peak - before) * 1024 / (logits.numel() * logits.element_size())

    def reset_grad() -> None:
        logits.grad = None

    step = timed(
        lambda _: loss_fn(logits, label, ignore_index=255).backward(),
        clock=time.thread_time,
        prepare=reset_grad,
    )
    times = [step() for _ in range(repeats)]
    return dict(loss=name, extra_memory_x_logits=extra, time_s=median(times))


def run_worker(name: str, shape, repeats: int) -> dict:
    env = dict(
        os.environ,
        MALLOC_MMAP_THRESHOLD_='131072',
        OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'),
    )
    out = subprocess.run(
        [
            sys.executable,
            osp.abspath(__file__),
            '--worker',
            name,
            '--shape',
            ','.join(map(str, shape)),
            '--repeats',
            str(repeats),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', default='2,19,512,1024')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--worker', choices=LOSSES)
    parser.add_argument('--quick', action='store_true', help='(2, 19, 128, 256), 1 round')
    args = parser.parse_args()
    if args.quick:
        args.shape, args.rounds, args.repeats = '2,19,128,256', 1, 3
    shape = tuple(int(s) for s in args.shape.split(','))
    if args.worker:
        print(json.dumps(worker(args.worker, shape, args.repeats)))
        return
    runs = run_interleaved(
        {name: functools.partial(run_worker, name, shape, args.repeats) for name in LOSSES},
        args.rounds,
    )
    summary = {}
    for name in LOSSES:
        summary[name] = dict(
            time_s=median([r['time_s'] for r in runs[name]]),
            extra_memory_x_logits=median([r['extra_memory_x_logits'] for r in runs[name]]),
        )
    ce_time = summary['ce']['time_s']
    for name in LOSSES:
        summary[name]['time_vs_ce'] = summary[name]['time_s'] / ce_time
    passed = all(
        summary[k]['time_vs_ce'] <= 1.3 and summary[k]['extra_memory_x_logits'] <= 2
        for k in ('soft_dice', 'soft_iou')
    )
    lines = []
    for name in LOSSES:
        s = summary[name]
        lines.append(
            f'| {LABELS[name]} | {1e3 * s["time_s"]:.0f} | {s["time_vs_ce"]:.2f} | '
            f'{s["extra_memory_x_logits"]:.2f} |'
        )
        print(
            f'{LABELS[name]:28s} fwd+bwd {1e3 * s["time_s"]:7.1f} ms  '
            f'{s["time_vs_ce"]:.2f}x CE  extra peak memory {s["extra_memory_x_logits"]:.2f}x '
            'logits'
        )
    print(f'targets (soft losses <= 1.3x CE time, <= 2x logits extra memory): {verdict(passed)}')
    if not args.quick:
        result = dict(
            benchmark='soft_overlap_losses',
            shape=shape,
            rounds=args.rounds,
            repeats=args.repeats,
            summary=summary,
            runs=runs,
            passed=passed,
            **machine_info(),
        )
        write_results(
            'soft_overlap_losses',
            result,
            f'Written by `{command_line()}`: logits {shape} float32, '
            f'10 % ignored pixels, CPU, OMP_NUM_THREADS={result["threads"]}, median of '
            f'{args.rounds} fresh processes x {args.repeats} passes (thread CPU time). Extra '
            'memory: peak '
            'RSS increase of one forward+backward over the allocated inputs, in units '
            "of the logits' bytes (the logits' gradient, 1x, included).\n\n"
            '| loss | fwd+bwd ms | time / CE | extra peak memory / logits |\n'
            '|---|---|---|---|\n' + '\n'.join(lines) + '\n\n'
            'Targets for the mmext losses: time <= 1.3x CE, extra memory <= 2x logits: '
            f'{verdict(passed)}.\n',
        )


if __name__ == '__main__':
    main()
