"""Bytes that SegFocalLoss keeps for backward, beside F.cross_entropy (issue 30, item 4).

Target: on the CPU path (:class:`mmext.models.losses.seg_focal_loss.SigmoidFocalFunction`,
which keeps only the logits and the labels and recomputes the sigmoid terms in backward), the
tensors saved for backward of one ``SegFocalLoss`` call weigh <= 2x the logits' bytes. The
previous implementation (the plain autograd formula, BCE * alpha_t * (1 - p_t)^gamma, kept
here as ``previous``) kept ~7-8x; ``F.cross_entropy`` (mmseg's CE) keeps the log-softmax and
the labels, ~1.1x.

Method: the loss (per-class alpha, as the TCE paper's focal baseline; 10 % of the pixels
ignored) runs under ``torch.autograd.graph.saved_tensors_hooks``; the pack hook records the
storage of every tensor saved for backward, and the bytes of the distinct storages are summed
(the logits themselves included when a node saves them) and divided by the logits' bytes.
Time: median of ``--repeats`` forward+backward passes (thread CPU time, one thread), the
candidates interleaved. The CUDA path (mmcv's fused op) is not measured here: it needs a GPU
and an mmcv built with CUDA ops.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/seg_focal_memory.py [--shape 2,19,512,1024]
        [--repeats 3] [--quick]
"""

import argparse
import time
from typing import Callable, Dict

import torch
import torch.nn.functional as F
from timing import (
    command_line,
    machine_info,
    medians,
    run_interleaved,
    timed,
    verdict,
    write_results,
)

LABELS = {
    'ce': 'F.cross_entropy (mmseg CrossEntropyLoss)',
    'previous': 'SegFocalLoss, previous (plain autograd formula)',
    'seg_focal': 'mmext SegFocalLoss (CPU path: SigmoidFocalFunction)',
}


def previous_focal(x, label, alpha, gamma=2.0, ignore_index=255):
    """The implementation before issue 30 (autograd of the plain formula), 'mean'."""
    num_classes = x.shape[1]
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    bshape = (1, num_classes) + (1,) * (x.dim() - 2)
    classes = torch.arange(num_classes, device=x.device).view(bshape)
    target = (lab.unsqueeze(1) == classes).to(x.dtype)
    p = torch.sigmoid(x)
    one_minus_pt = (1 - p) * target + p * (1 - target)
    alpha = x.new_tensor(alpha).view(bshape)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    loss = (
        F.binary_cross_entropy_with_logits(x, target, reduction='none')
        * alpha_t
        * one_minus_pt.pow(gamma)
    )
    return (loss * valid.unsqueeze(1).to(x.dtype)).mean()


def build(shape, seed: int = 0) -> Dict[str, Callable]:
    """Logits, labels and one forward callable per candidate."""
    from mmext.models.losses import SegFocalLoss

    n, c, h, w = shape
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, h, w, generator=g, requires_grad=True)
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[torch.rand(n, h, w, generator=g) < 0.1] = 255
    alpha = torch.softmax(torch.randn(c, generator=g), 0).tolist()  # inverse-frequency-like
    focal = SegFocalLoss(alpha=alpha)
    calls = {
        'ce': lambda: F.cross_entropy(logits, label, ignore_index=255),
        'previous': lambda: previous_focal(logits, label, alpha),
        'seg_focal': lambda: focal(logits, label),
    }
    return logits, calls


def saved_bytes(fn: Callable) -> int:
    """Bytes of the distinct storages saved for backward by ``fn()``."""
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = fn()
    del loss
    return sum(storages.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', default='2,19,512,1024')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='(2, 19, 64, 128), no file')
    args = parser.parse_args()
    if args.quick:
        args.shape, args.repeats = '2,19,64,128', 1
    shape = tuple(int(s) for s in args.shape.split(','))
    logits, calls = build(shape)
    logit_bytes = logits.numel() * logits.element_size()
    ratio = {name: saved_bytes(fn) / logit_bytes for name, fn in calls.items()}

    def reset(_=None) -> None:
        logits.grad = None

    steps = {
        name: timed(lambda _, fn=fn: fn().backward(), clock=time.thread_time, prepare=reset)
        for name, fn in calls.items()
    }
    times = medians(run_interleaved(steps, args.repeats, warmup=1, alternate=True))
    passed = ratio['seg_focal'] <= 2.0
    lines = []
    for name in calls:
        lines.append(
            f'| {LABELS[name]} | {ratio[name]:.2f} | {1e3 * times[name]:.0f} | '
            f'{times[name] / times["ce"]:.2f} |'
        )
        print(
            f'{LABELS[name]:52s} saved/logits {ratio[name]:5.2f}  '
            f'fwd+bwd {1e3 * times[name]:7.1f} ms ({times[name] / times["ce"]:.2f}x CE)'
        )
    print(f'target (SegFocalLoss CPU path saves <= 2x the logits): {verdict(passed)}')
    if args.quick:
        return
    result = dict(
        benchmark='seg_focal_memory',
        command=command_line(),
        shape=shape,
        repeats=args.repeats,
        saved_bytes_x_logits=ratio,
        time_s=times,
        passed=passed,
        torch=torch.__version__,
        **machine_info(),
    )
    write_results(
        'seg_focal_memory',
        result,
        f'Written by `{command_line()}`: logits {shape} float32 ({logit_bytes / 2**20:.0f} '
        'MiB), per-class alpha, 10 % ignored pixels, CPU, '
        f'OMP_NUM_THREADS={result["threads"]}, torch {torch.__version__}. Saved: bytes of the '
        'distinct storages saved for backward (`torch.autograd.graph.saved_tensors_hooks`), '
        "over the logits' bytes. Time: median of "
        f'{args.repeats} interleaved forward+backward passes (thread CPU time).\n\n'
        '| loss | saved for backward / logits | fwd+bwd ms | time / CE |\n'
        '|---|---|---|---|\n' + '\n'.join(lines) + '\n\n'
        "Target: SegFocalLoss's CPU path saves <= 2x the logits' bytes: "
        f'{verdict(passed)}. The CUDA path (mmcv `sigmoid_focal_loss`, used for CUDA logits '
        'when mmcv has CUDA ops) is not measured here (no GPU).\n',
    )


if __name__ == '__main__':
    main()
