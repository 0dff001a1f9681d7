"""Bag of Freebies (Table 2, scaled down) on the offline long-tailed digits detection data.

Trains the tiny YOLOv3 of ``configs/bag_of_freebies/digits/`` from scratch as the baseline,
with each freebie alone (coherent mixup + weighted loss, class label smoothing, warm-up cosine
schedule) and with all of them, for several seeds, evaluates COCO-style mAP with pycocotools
(mmdet's ``CocoMetric``) on the balanced val split and writes a markdown table.

    OMP_NUM_THREADS=1 python tools/experiments/freebies_digits.py            # 3 seeds, 8 epochs
    OMP_NUM_THREADS=1 python tools/experiments/freebies_digits.py --quick    # 1 seed, tiny

Each (variant, seed) runs in its own process (``--jobs`` at a time, one thread each); the
dataset is built once beforehand. Results: ``<work-dir>/<variant>_s<seed>/result.json`` and
the table in ``--out`` (default ``docs/results/freebies_digits.md``).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

CONFIG_DIR = osp.join(REPO, 'configs', 'bag_of_freebies', 'digits')
#: variant name -> (config file, row of the paper's Table 2 it mirrors)
VARIANTS: Dict[str, tuple] = {
    'baseline': ('yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py', 'baseline'),
    'mixup': ('yolov3_r18-tiny_coherent-mixup_1xb8-8e_digits-det.py', '+ mixup'),
    'label_smooth': ('yolov3_r18-tiny_label-smooth_1xb8-8e_digits-det.py',
                     '+ class label smoothing'),
    'cosine': ('yolov3_r18-tiny_cosine_1xb8-8e_digits-det.py', '+ cosine lr schedule'),
    'all': ('yolov3_r18-tiny_bof-all_1xb8-8e_digits-det.py', 'all freebies'),
}
HEAD_CLASSES, TAIL_CLASSES = range(0, 5), range(5, 10)


def _train_dataset(cfg) -> dict:
    dataset = cfg.train_dataloader.dataset
    return dataset.dataset if dataset.type == 'MultiImageMixDataset' else dataset


def adapt_config(cfg, epochs: int, num_train: int, num_val: int, data_root: str,
                 workers: int = 0):
    """Set the schedule length and dataset size consistently in a digits freebies config.

    Args:
        cfg (Config): A tiny YOLOv3 config of ``configs/bag_of_freebies/digits``.
        epochs (int): Number of training epochs.
        num_train (int): Train images.
        num_val (int): Val images.
        data_root (str): Dataset folder (one per size: the builder rebuilds on changes).
        workers (int): Dataloader workers.

    Returns:
        Config: The modified config (also modified in place).
    """
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1  # evaluated once, by ``runner.test()``
    cfg.default_hooks.checkpoint.interval = epochs
    base_epochs = 8
    for sched in cfg.param_scheduler:
        if sched.type == 'MultiStepLR':
            sched.milestones = [max(1, round(m * epochs / base_epochs)) for m in sched.milestones]
        if sched.type == 'mmext.WarmupCosineLR':
            sched.end = epochs
        if sched.type in ('LinearLR', 'mmext.WarmupCosineLR'):
            warmup_key = 'end' if sched.type == 'LinearLR' else 'warmup'
            sched[warmup_key] = min(sched[warmup_key], max(1, epochs - 1))
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'PipelineSwitchHook':  # mixup off for the last 1/8 of the epochs
            hook.switch_epoch = epochs - max(1, round(epochs / base_epochs))
    train = _train_dataset(cfg)
    train.num_images, train.data_root = num_train, data_root
    cfg.val_dataloader.dataset.num_images = num_val
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = osp.join(data_root, 'annotations', 'instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.num_workers = workers
        loader.persistent_workers = workers > 0
    cfg.default_hooks.logger.interval = 25
    return cfg


def run_single(variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Train and test one (variant, seed) in this process; write and return its result."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmext  # noqa: F401
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, VARIANTS[variant][0]))
    adapt_config(cfg, args.epochs, args.num_train, args.num_val, args.data_root)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = osp.join(args.work_dir, f'{variant}_s{seed}')
    cfg.experiment_name = f'{variant}_s{seed}'
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=False)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    metrics = {k: float(v) for k, v in runner.test().items()}
    # CocoMetric returns no mAP at all when the model detects nothing: that is an AP of 0
    no_detections = 'coco/bbox_mAP' not in metrics
    for key in ['coco/bbox_mAP', 'coco/bbox_mAP_50'] + [f'coco/{c}_precision'
                                                         for c in range(10)]:
        metrics.setdefault(key, 0.0)
    switched = any(getattr(h, '_has_switched', False) for h in runner.hooks)
    result = dict(variant=variant, seed=seed, epochs=args.epochs, train_s=round(train_s, 1),
                  mixup_switched_off=switched, no_detections=no_detections, metrics=metrics)
    with open(osp.join(cfg.work_dir, 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return result


def build_data(args: argparse.Namespace) -> None:
    """Build the digits dataset once (the runs in parallel then only read it)."""
    from mmext.datasets.digits_builders import build_digits_det
    build_cfg = dict(canvas_size=96, digits_per_image=(2, 4), digit_size=(12, 40))
    build_digits_det(args.data_root, 'train', args.num_train, 10.0, 0, **build_cfg)
    build_digits_det(args.data_root, 'val', args.num_val, 1.0, 0, **build_cfg)


def summarize(results: List[dict], args: argparse.Namespace, wall_s: float) -> str:
    """Markdown table: mean +- std over seeds of mAP, mAP@0.5, head / tail class AP."""
    def stats(values):
        values = np.asarray(values, dtype=float) * 100
        std = values.std(ddof=1) if len(values) > 1 else 0.0
        return values.mean(), std

    rows, base = [], None
    for variant, (config, paper_row) in VARIANTS.items():
        runs = [r for r in results if r['variant'] == variant]
        if not runs:
            continue
        m = [r['metrics'] for r in runs]
        cols = dict(
            map=stats([x['coco/bbox_mAP'] for x in m]),
            map50=stats([x['coco/bbox_mAP_50'] for x in m]),
            head=stats([np.mean([x[f'coco/{c}_precision'] for c in HEAD_CLASSES]) for x in m]),
            tail=stats([np.mean([x[f'coco/{c}_precision'] for c in TAIL_CLASSES]) for x in m]))
        delta = '' if base is None else f'{cols["map"][0] - base:+.2f}'
        if variant == 'baseline':
            base = cols['map'][0]
        seeds_map = ', '.join(f'{100 * x["coco/bbox_mAP"]:.1f}' for x in m)
        rows.append(f'| {variant} | {paper_row} | {cols["map"][0]:.2f} ± {cols["map"][1]:.2f} '
                    f'| {delta} | {cols["map50"][0]:.2f} ± {cols["map50"][1]:.2f} '
                    f'| {cols["head"][0]:.2f} | {cols["tail"][0]:.2f} | {seeds_map} '
                    f'| `{config}` |')
    seeds = sorted({r['seed'] for r in results})
    train_s = np.mean([r['train_s'] for r in results])
    lines = [
        '# Bag of Freebies on the long-tailed digits (tiny YOLOv3, CPU)', '',
        'Generated by `' + ' '.join(['python tools/experiments/freebies_digits.py',
                                     *args.argv]) + '` (do not edit by hand).', '',
        f'Setting: {args.num_train} train images (imbalance ratio 10, digit 0 most frequent), '
        f'{args.num_val} balanced val images, 96x96, batch 8, {args.epochs} epochs, AdamW, '
        f'seeds {seeds}; mixup is switched off for the last epoch(s) by PipelineSwitchHook. '
        f'COCO mAP@[.5:.95] in % (pycocotools via mmdet CocoMetric); head = mean AP of digits '
        f'0-4, tail = 5-9. Mean train time per run {train_s:.0f} s; whole experiment '
        f'{wall_s / 60:.1f} min wall with {args.jobs} parallel jobs.', '',
        '| variant | Table 2 row | mAP | Δ mAP | mAP@0.5 | head AP | tail AP | mAP per seed '
        '| config |',
        '|---|---|---|---|---|---|---|---|---|',
        *rows, '',
    ]
    if args.quick:
        lines.insert(2, '**Quick mode (tiny data and schedule): a smoke test of the pipeline, '
                        'not evidence.**\n')
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--jobs', type=int, default=2, help='runs in parallel')
    parser.add_argument('--work-dir', default='work_dirs/freebies_digits')
    parser.add_argument('--out', default='docs/results/freebies_digits.md')
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, 2 epochs, 48 train / 24 val images (smoke test)')
    parser.add_argument('--single', nargs=2, metavar=('VARIANT', 'SEED'),
                        help=argparse.SUPPRESS)  # internal: one run in this process
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.seeds, args.epochs, args.num_train, args.num_val = args.seeds[:1], 2, 48, 24
    args.data_root = ('data/digits_det' if (args.num_train, args.num_val) == (1000, 200) else
                      f'data/digits_det_{args.num_train}_{args.num_val}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Run all (variant, seed) pairs and write the summary table."""
    args = parse_args(argv)
    if args.single:
        run_single(args.single[0], int(args.single[1]), args)
        return
    start = time.time()
    build_data(args)
    forwarded = ['--epochs', str(args.epochs), '--num-train', str(args.num_train),
                 '--num-val', str(args.num_val), '--work-dir', args.work_dir]
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    queue = [(v, s) for s in args.seeds for v in args.variants]
    running, failed = [], []
    while queue or running:
        while queue and len(running) < args.jobs:
            variant, seed = queue.pop(0)
            log_dir = osp.join(args.work_dir, f'{variant}_s{seed}')
            os.makedirs(log_dir, exist_ok=True)
            log = open(osp.join(log_dir, 'run.log'), 'w')
            cmd = [sys.executable, osp.abspath(__file__), *forwarded,
                   '--single', variant, str(seed)]
            running.append((variant, seed, log, subprocess.Popen(
                cmd, cwd=os.getcwd(), env=env, stdout=log, stderr=subprocess.STDOUT)))
            print(f'started {variant} seed {seed}', flush=True)
        for item in list(running):
            variant, seed, log, proc = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                status = 'done' if proc.returncode == 0 else f'FAILED ({proc.returncode})'
                if proc.returncode != 0:
                    failed.append(f'{variant}_s{seed}')
                print(f'{status}: {variant} seed {seed} ({time.time() - start:.0f} s)',
                      flush=True)
        time.sleep(1)
    if failed:
        raise RuntimeError(f'runs failed (see their run.log in {args.work_dir}): {failed}')
    results = []
    for variant in args.variants:
        for seed in args.seeds:
            with open(osp.join(args.work_dir, f'{variant}_s{seed}', 'result.json')) as f:
                results.append(json.load(f))
    table = summarize(results, args, time.time() - start)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(table)
    print(table)


if __name__ == '__main__':
    main()
