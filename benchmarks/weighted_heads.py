"""Training-iteration throughput of the mixup-weighted heads vs mmdet's heads (target >= 0.95x).

One iteration = head forward + loss + backward on CPU, small inputs:

- YOLOv3: ``mmext.WeightedYOLOV3Head`` vs ``YOLOV3Head`` on three feature levels of a
  320x320 image (strides 32/16/8, 64/32/16 channels), batch 2, 8 objects per image.
- Faster R-CNN: ``mmext.WeightedStandardRoIHead`` vs ``StandardRoIHead`` (RoIAlign 7x7,
  Shared2FCBBoxHead), 1000 proposals and 512 sampled RoIs per image, batch 2.

Both heads share weights and inputs; the weighted head gets non-trivial mixup weights (the
cost that matters). Iterations of the two are interleaved; the median is reported and the
throughput ratio is ``t_upstream / t_weighted``. The order of the two alternates between
iterations (ABBA) so that neither profits from running second. Times are process CPU times
(``time.process_time``, single-threaded): the CI machine's cores are shared, and CPU time is
insensitive to other processes taking the core away.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/weighted_heads.py [--quick]
"""

import argparse
import copy
import os
import time
from typing import Callable, Dict, List

import torch
from mmdet.models.dense_heads import YOLOV3Head
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from timing import command_line, medians, run_interleaved, timed, verdict, write_results

from mmext.models.heads import WeightedStandardRoIHead, WeightedYOLOV3Head


def _samples(img: int, num_gts: int, weighted: bool, num_classes: int) -> List[DetDataSample]:
    g = torch.Generator().manual_seed(0)
    g_weights = torch.Generator().manual_seed(1)  # same boxes with and without weights
    samples = []
    for _ in range(2):
        xy = torch.rand(num_gts, 2, generator=g) * img * 0.6
        wh = torch.rand(num_gts, 2, generator=g) * img * 0.3 + 12
        gt = InstanceData(
            bboxes=torch.cat([xy, (xy + wh).clamp(max=img - 1)], 1),
            labels=torch.randint(0, num_classes, (num_gts,), generator=g),
        )
        if weighted:
            gt.weights = torch.rand(num_gts, generator=g_weights)
        sample = DetDataSample(metainfo=dict(img_shape=(img, img), batch_input_shape=(img, img)))
        sample.gt_instances = gt
        samples.append(sample)
    return samples


def yolo_case() -> Dict[str, Callable[[], None]]:
    """Iteration closures of the upstream and weighted YOLOv3 heads."""
    cfg = dict(
        num_classes=20,
        in_channels=[64, 32, 16],
        out_channels=[64, 32, 16],
        train_cfg=dict(
            assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)
        ),
    )
    torch.manual_seed(0)
    ours, ref = WeightedYOLOV3Head(**cfg), YOLOV3Head(**cfg)
    ref.load_state_dict(ours.state_dict())
    feats = [torch.randn(2, c, 320 // s, 320 // s) for c, s in zip((64, 32, 16), (32, 16, 8))]
    plain, weighted = _samples(320, 8, False, 20), _samples(320, 8, True, 20)

    def step(head, samples):
        def run():
            head.zero_grad()
            losses = head.loss(feats, samples)
            sum(sum(v) for v in losses.values()).backward()

        return run

    return dict(upstream=step(ref, plain), weighted=step(ours, weighted))


def roi_case() -> Dict[str, Callable[[], None]]:
    """Iteration closures of the upstream and weighted Faster R-CNN RoI heads."""
    cfg = dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=64,
            featmap_strides=[8],
        ),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=64,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=20,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[0.1, 0.1, 0.2, 0.2],
            ),
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        ),
        train_cfg=ConfigDict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1,
            ),
            sampler=dict(
                type='RandomSampler',
                num=512,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True,
            ),
            pos_weight=-1,
            debug=False,
        ),
    )
    torch.manual_seed(0)
    ours = WeightedStandardRoIHead(**copy.deepcopy(cfg))
    ref = StandardRoIHead(**copy.deepcopy(cfg))
    ref.load_state_dict(ours.state_dict())
    x = (torch.randn(2, 64, 40, 40),)
    g = torch.Generator().manual_seed(1)
    proposals = []
    for _ in range(2):
        xy = torch.rand(1000, 2, generator=g) * 250
        wh = torch.rand(1000, 2, generator=g) * 120 + 8
        proposals.append(
            InstanceData(
                bboxes=torch.cat([xy, (xy + wh).clamp(max=319)], 1),
                scores=torch.rand(1000, generator=g),
            )
        )
    plain, weighted = _samples(320, 8, False, 20), _samples(320, 8, True, 20)

    def step(head, samples):
        def run():
            head.zero_grad()
            torch.manual_seed(0)
            losses = head.loss(x, copy.deepcopy(proposals), samples)
            (losses['loss_cls'] + losses['loss_bbox']).backward()

        return run

    return dict(upstream=step(ref, plain), weighted=step(ours, weighted))


def measure(case: Dict[str, Callable[[], None]], iters: int, warmup: int = 3) -> dict:
    """Median process CPU seconds per iteration of each closure, interleaved (ABBA)."""
    steps = {name: timed(run, clock=time.process_time) for name, run in case.items()}
    return medians(run_interleaved(steps, iters, warmup=warmup, alternate=True))


def main() -> None:
    """Run both cases, print throughput ratios, write benchmarks/results/weighted_heads.*."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=100)
    parser.add_argument('--quick', action='store_true', help='5 iterations')
    args = parser.parse_args()
    iters = 5 if args.quick else args.iters
    init_default_scope('mmdet')
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    rows = {}
    for name, build in (('yolov3_head', yolo_case), ('faster_rcnn_roi_head', roi_case)):
        t = measure(build(), iters)
        ratio = t['upstream'] / t['weighted']
        rows[name] = dict(
            upstream_ms=round(1e3 * t['upstream'], 3),
            weighted_ms=round(1e3 * t['weighted'], 3),
            throughput_ratio=round(ratio, 3),
            passed=bool(ratio >= 0.95),
        )
        print(
            f'{name}: upstream {1e3 * t["upstream"]:.2f} ms/iter, weighted '
            f'{1e3 * t["weighted"]:.2f} ms/iter, throughput ratio {ratio:.3f} '
            f'(target >= 0.95): {verdict(ratio >= 0.95)}'
        )
    if not args.quick:
        write_results(
            'weighted_heads',
            dict(
                benchmark='weighted_heads',
                iters=iters,
                target='throughput_ratio >= 0.95',
                results=rows,
            ),
            f'Generated by `{command_line()}` '
            f'(process CPU time, median of {iters} interleaved iterations; ratio = '
            'upstream time / weighted time).\n\n'
            '| head | upstream ms/iter | weighted ms/iter | throughput ratio '
            '| target | result |\n|---|---|---|---|---|---|\n'
            + ''.join(
                f'| {name} | {r["upstream_ms"]} | {r["weighted_ms"]} | '
                f'{r["throughput_ratio"]} | >= 0.95 | {verdict(r["passed"])} |\n'
                for name, r in rows.items()
            ),
        )


if __name__ == '__main__':
    main()
