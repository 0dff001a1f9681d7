"""Forward+backward time and peak memory of mmext.TiltedCrossEntropyLoss vs mmseg's CE.

Targets (issue): at logits (2, 19, 512, 1024) float32 the tilted CE (image and class level,
t = 1) takes <= 1.3x the time of mmseg's ``CrossEntropyLoss`` and needs <= 2x the logits'
bytes of extra peak memory.

* Time: median over rounds of one forward+backward on the same logits/labels (10 % of the
  pixels set to ignore 255), the three losses interleaved in every round.
* Memory: each loss runs in a fresh subprocess that allocates the logits and labels, records
  its resident set size, runs forward+backward twice, and reports the peak RSS increase
  (``ru_maxrss``) over that baseline. "Extra memory" is TCE's increase minus mmseg CE's
  increase, compared with the logits' size.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/tilted_ce_loss.py [--quick]
"""

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import time
from typing import Tuple

import torch
from timing import (
    command_line,
    machine_info,
    medians,
    ratios,
    run_interleaved,
    timed,
    verdict,
    write_results,
)

LOSSES = ('mmseg_ce', 'tce_image', 'tce_class')


def build_loss(name: str) -> torch.nn.Module:
    """The loss module called ``name`` (see :data:`LOSSES`)."""
    if name == 'mmseg_ce':
        from mmseg.models.losses import CrossEntropyLoss

        return CrossEntropyLoss()
    from mmext.models.losses import TiltedCrossEntropyLoss

    return TiltedCrossEntropyLoss(tilt=1.0, level=name.split('_')[1])


def make_inputs(shape: Tuple[int, ...], seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Random logits (requires grad) and labels with 10 % ignored pixels."""
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    logits = torch.randn(n, c, h, w, generator=g).requires_grad_(True)
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[torch.rand(n, h, w, generator=g) < 0.1] = 255
    return logits, label


def step(loss: torch.nn.Module, logits: torch.Tensor, label: torch.Tensor) -> None:
    """One forward+backward."""
    logits.grad = None
    loss(logits, label, ignore_index=255).backward()


def rss_bytes() -> int:
    """Current resident set size."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def memory_child(name: str, shape: Tuple[int, ...]) -> None:
    """Subprocess body: print the peak RSS increase of two forward+backward passes."""
    loss = build_loss(name)
    logits, label = make_inputs(shape)
    logits.grad = torch.zeros_like(logits)  # the gradient buffer exists in both cases
    base = rss_bytes()
    for _ in range(2):
        logits.grad.zero_()
        loss(logits, label, ignore_index=255).backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(extra=peak - base)))


def measure_memory(name: str, shape: Tuple[int, ...]) -> int:
    """Peak RSS increase of ``name`` measured in a fresh subprocess."""
    out = subprocess.run(
        [sys.executable, __file__, '--memory-child', name, '--shape', *map(str, shape)],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    return int(json.loads(out.stdout.strip().splitlines()[-1])['extra'])


def main() -> None:
    """Run the benchmark, print ratios, write benchmarks/results/tilted_ce_loss.*."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', type=int, nargs=4, default=[2, 19, 512, 1024])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--quick', action='store_true', help='(2, 19, 128, 256), 3 rounds')
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = tuple(args.shape)
    if args.memory_child:
        memory_child(args.memory_child, shape)
        return
    if args.quick:
        shape, args.rounds = (2, 19, 128, 256), 3
    logits, label = make_inputs(shape)
    losses = {n: build_loss(n) for n in LOSSES}
    steps = {
        n: timed(functools.partial(step, losses[n], logits, label), clock=time.perf_counter)
        for n in LOSSES
    }
    med = medians(run_interleaved(steps, args.rounds, warmup=1))
    ms = {n: 1e3 * t for n, t in med.items()}
    time_ratios = ratios(ms, 'mmseg_ce')
    mem = {n: measure_memory(n, shape) for n in LOSSES}
    logits_bytes = logits.numel() * logits.element_size()
    result = dict(
        benchmark='tilted_ce_loss',
        shape=list(shape),
        rounds=args.rounds,
        **machine_info(),
        torch=torch.__version__,
        logits_mib=round(logits_bytes / 2**20, 1),
        targets='time_ratio <= 1.3, extra_memory / logits_bytes <= 2',
    )
    lines = [
        '| loss | fwd+bwd ms | time ratio | peak RSS increase MiB | extra vs mmseg CE (x logits) |',
        '|---|---|---|---|---|',
    ]
    passed = True
    for n in LOSSES:
        ratio = time_ratios[n]
        extra = (mem[n] - mem['mmseg_ce']) / logits_bytes
        result[n] = dict(
            ms=round(ms[n], 2),
            time_ratio=round(ratio, 3),
            peak_rss_increase_mib=round(mem[n] / 2**20, 1),
            extra_memory_x_logits=round(extra, 3),
        )
        if n != 'mmseg_ce':
            passed &= ratio <= 1.3 and extra <= 2
        lines.append(f'| {n} | {ms[n]:.1f} | {ratio:.3f} | {mem[n] / 2**20:.1f} | {extra:+.3f} |')
        print(
            f'{n:10s} {ms[n]:8.1f} ms  time ratio {ratio:.3f}  peak RSS +'
            f'{mem[n] / 2**20:.1f} MiB  extra vs CE {extra:+.3f} x logits'
        )
    result['passed'] = bool(passed)
    print(
        f'logits {logits_bytes / 2**20:.1f} MiB; targets time <= 1.3x, extra memory <= 2x '
        f'logits: {verdict(passed)}'
    )
    if not args.quick:
        write_results(
            'tilted_ce_loss',
            result,
            f'Written by `{command_line()}`.\n\n'
            f'Logits {tuple(shape)} float32 ({logits_bytes / 2**20:.1f} MiB), CPU, '
            f'OMP_NUM_THREADS={result["threads"]}, median of {args.rounds} rounds.\n\n'
            + '\n'.join(lines)
            + '\n\n'
            + f'Targets (issue): time ratio <= 1.3 and extra memory <= 2x logits for '
            f'both levels: {verdict(passed)}.\n',
        )


if __name__ == '__main__':
    main()
