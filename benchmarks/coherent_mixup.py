"""Time per sample of mmext.CoherentMixUp vs mmdet's MixUp at 640x640 (target: <= 0.5x).

CoherentMixUp blends both images at the top-left corner of a canvas and resizes nothing;
mmdet's MixUp (YOLOX style) resizes, jitters, flips and crops the partner image. Both get the
same pairs of 640x640 uint8 images with 10 boxes each; only the transform call is timed (the
deep copies that both need because they modify their inputs are made beforehand). Calls of
the two transforms are interleaved and the median over rounds is reported. The wrapper-free
pair, ``CoherentMixUp(use_cached=True)`` vs mmdet's ``CachedMixUp`` (both keep the last 20
samples and draw the partner from them), is timed on a stream of single samples, cache
updates included. Times are process
CPU times (``time.process_time``; run single-threaded): insensitive to other processes sharing
the cores.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/coherent_mixup.py [--quick]
"""

import argparse
import copy
import time

import cv2
import numpy as np
from mmdet.datasets.transforms import CachedMixUp, MixUp
from mmdet.structures.bbox import HorizontalBoxes
from timing import (
    command_line,
    machine_info,
    medians,
    run_interleaved,
    timed,
    verdict,
    write_results,
)

from mmext.datasets.transforms import CoherentMixUp


def make_sample(rng: np.random.RandomState, size: int, num_boxes: int) -> dict:
    """A random uint8 image with ``num_boxes`` random boxes.

    Args:
        rng (np.random.RandomState): Random generator.
        size (int): Image height and width.
        num_boxes (int): Number of boxes.

    Returns:
        dict: mmdet results dict after loading.
    """
    xy = rng.uniform(0, size * 0.7, (num_boxes, 2))
    wh = rng.uniform(16, size * 0.3, (num_boxes, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, size - 1)], 1).astype(np.float32)
    return dict(
        img=rng.randint(0, 256, (size, size, 3)).astype(np.uint8),
        img_shape=(size, size),
        ori_shape=(size, size),
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=rng.randint(0, 20, num_boxes).astype(np.int64),
        gt_ignore_flags=np.zeros(num_boxes, bool),
    )


def main() -> None:
    """Run the benchmark, print the ratio and write benchmarks/results/coherent_mixup.*."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=640)
    parser.add_argument('--pairs', type=int, default=20, help='pairs per round')
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--quick', action='store_true', help='3 rounds of 5 pairs')
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.rounds = 5, 3
    cv2.setNumThreads(1)  # single-threaded like the numpy blend (CPU time, see docstring)
    rng = np.random.RandomState(0)
    pairs = []
    for _ in range(args.pairs):
        first = make_sample(rng, args.size, 10)
        first['mix_results'] = [make_sample(rng, args.size, 10)]
        pairs.append(first)
    ours_t = CoherentMixUp(alpha=1.5, beta=1.5)
    ref_t = MixUp(img_scale=(args.size, args.size))
    np.random.seed(0)

    def calls(transform):  # the deep copies (both transforms modify them) are untimed
        return timed(
            lambda inputs: [transform(r) for r in inputs],
            clock=time.process_time,
            prepare=lambda: [copy.deepcopy(p) for p in pairs],
        )

    med = medians(run_interleaved(dict(ref=calls(ref_t), ours=calls(ours_t)), args.rounds))
    ours_ms, ref_ms = (1e3 * med[k] / len(pairs) for k in ('ours', 'ref'))
    ratio = ours_ms / ref_ms
    # wrapper-free: a stream of single samples through transforms with their own caches
    stream = [{k: v for k, v in p.items() if k != 'mix_results'} for p in pairs]
    for i, sample in enumerate(stream):
        sample['sample_idx'] = i
    cached_ours_t = CoherentMixUp(alpha=1.5, beta=1.5, use_cached=True, max_cached_images=20)
    cached_ref_t = CachedMixUp(img_scale=(args.size, args.size), max_cached_images=20)

    def stream_calls(transform):
        return timed(
            lambda inputs: [transform(r) for r in inputs],
            clock=time.process_time,
            prepare=lambda: [copy.deepcopy(p) for p in stream],
        )

    c_med = medians(
        run_interleaved(
            dict(ref=stream_calls(cached_ref_t), ours=stream_calls(cached_ours_t)), args.rounds
        )
    )
    c_ours_ms, c_ref_ms = (1e3 * c_med[k] / len(stream) for k in ('ours', 'ref'))
    c_ratio = c_ours_ms / c_ref_ms
    result = dict(
        benchmark='coherent_mixup',
        size=args.size,
        pairs=args.pairs,
        rounds=args.rounds,
        ours_ms_per_sample=round(ours_ms, 3),
        mmdet_mixup_ms_per_sample=round(ref_ms, 3),
        time_ratio=round(ratio, 3),
        target='time_ratio <= 0.5',
        passed=bool(ratio <= 0.5),
        cached_ours_ms_per_sample=round(c_ours_ms, 3),
        mmdet_cached_mixup_ms_per_sample=round(c_ref_ms, 3),
        cached_time_ratio=round(c_ratio, 3),
        **machine_info(),
    )
    print(
        f'CoherentMixUp {ours_ms:.2f} ms/sample, mmdet MixUp {ref_ms:.2f} ms/sample, '
        f'ratio {ratio:.3f} (target <= 0.5): {verdict(result["passed"])}'
    )
    if not args.quick:
        write_results(
            'coherent_mixup',
            result,
            f'Generated by `{command_line()}` '
            f'(process CPU time, median of {args.rounds} rounds of {args.pairs} pairs).\n\n'
            f'| transform | ms / sample ({args.size}x{args.size}) | time ratio '
            f'| target | result |\n|---|---|---|---|---|\n'
            f'| mmdet MixUp | {ref_ms:.2f} | 1.00 | | |\n'
            f'| mmext.CoherentMixUp | {ours_ms:.2f} | {ratio:.3f} | <= 0.5 '
            f'| {verdict(result["passed"])} |\n'
            f'| mmdet CachedMixUp (plain pipeline) | {c_ref_ms:.2f} | 1.00 | | |\n'
            f'| mmext.CoherentMixUp(use_cached=True) | {c_ours_ms:.2f} '
            f'| {c_ratio:.3f} | | |\n',
        )


if __name__ == '__main__':
    main()
