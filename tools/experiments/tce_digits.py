"""Offline TCE experiment: CE vs TCE (image / class level) vs Stochastic TCE on digits.

Trains the tiny DeepLabV3+ of ``configs/digits`` on the long-tailed digits segmentation data
(train imbalance ratio 10, balanced val) with the configs ``configs/tilted_ce/
deeplabv3plus_r18-tiny_*_digits-seg.py`` for several seeds and a short schedule, each run in
its own ``tools/train.py`` process on CPU, then writes the paper's Table 1/3 layout (classes
sorted by the CE model; fairness criteria as mean +- std over seeds) and a bar chart:

    OMP_NUM_THREADS=1 python tools/experiments/tce_digits.py    # 4 methods x 3 seeds, ~20 min
    python tools/experiments/tce_digits.py --seeds 0 --iters 20 --jobs 1      # smoke run

Outputs: ``docs/results/tce_digits.md``, ``docs/results/tce_digits.png`` and, per run,
``<work-dir>/<method>_seed<k>/fair_iou.json``. Existing run results are reused unless
``--force`` is given.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from tools.analysis.tce_fairness_report import (build_report, collect,  # noqa: E402
                                                plot_bars)

CONFIG_DIR = osp.join('configs', 'tilted_ce')
METHODS = OrderedDict([
    ('CE', 'deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py'),
    ('TCE image t=1', 'deeplabv3plus_r18-tiny_tce-img-t1_1xb8-2k_digits-seg.py'),
    ('TCE class t=1', 'deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-2k_digits-seg.py'),
    ('Stochastic TCE t=1', 'deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py'),
])
SLUG = {'CE': 'ce', 'TCE image t=1': 'tce-img', 'TCE class t=1': 'tce-cls',
        'Stochastic TCE t=1': 'stce'}


def schedule_options(iters: int, warmup: int, lr: float = 5e-3) -> List[str]:
    """``--cfg-options`` that shorten the digits schedule to ``iters`` iterations."""
    return [
        f'optim_wrapper.optimizer.lr={lr}', f'param_scheduler.1.eta_min={lr * 1e-2}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'default_hooks.logger.interval={max(1, min(50, iters // 5))}',
        f'param_scheduler.0.end={warmup}', f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
        'default_hooks.visualization.draw=False',
    ]


def run_seconds(work_dir: str) -> Optional[float]:
    """Duration of a finished run from the first/last mmengine timestamps of its log."""
    path = osp.join(work_dir, 'train_stdout.log')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        stamps = re.findall(r'^(\d\d/\d\d \d\d:\d\d:\d\d) - mmengine', f.read(), re.M)
    if len(stamps) < 2:
        return None
    first, last = (datetime.strptime(s, '%m/%d %H:%M:%S') for s in (stamps[0], stamps[-1]))
    return (last - first).total_seconds() % (366 * 86400)


def final_class_weights(work_dir: str) -> Optional[Dict[str, float]]:
    """Last ``tce/weight/<class>`` scalars a Stochastic TCE run logged (vis_data)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    last = None
    for path in files:
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if any(k.startswith('tce/weight/') for k in record):
                    last = record
    if last is None:
        return None
    return {k[len('tce/weight/'):]: v for k, v in last.items() if k.startswith('tce/weight/')}


def run_one(method: str, seed: int, args: argparse.Namespace) -> str:
    """Train one method/seed (unless its result exists) and return its result JSON path."""
    work_dir = osp.join(args.work_dir, f'{SLUG[method]}_seed{seed}')
    result = osp.join(work_dir, 'fair_iou.json')
    if osp.isfile(result) and not args.force:
        return result
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'),
           osp.join(REPO, CONFIG_DIR, METHODS[method]), '--work-dir', work_dir,
           '--cfg-options', f'randomness.seed={seed}',
           f'train_dataloader.num_workers={args.num_workers}',
           f'train_dataloader.persistent_workers={args.num_workers > 0}',
           f'val_dataloader.num_workers={args.num_workers}',
           f'val_dataloader.persistent_workers={args.num_workers > 0}',
           *schedule_options(args.iters, args.warmup, args.lr)]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'),
               MKL_NUM_THREADS=os.environ.get('MKL_NUM_THREADS', '1'), MPLBACKEND='Agg')
    os.makedirs(work_dir, exist_ok=True)
    t0 = time.time()
    with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0 or not osp.isfile(result):
        raise RuntimeError(f'{method} seed {seed} failed (exit {proc.returncode}); see '
                           f'{osp.join(work_dir, "train_stdout.log")}')
    print(f'{method:20s} seed {seed}: {time.time() - t0:6.1f}s', flush=True)
    return result


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Run the experiment and write the report; returns the Markdown text."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--warmup', type=int, default=50)
    parser.add_argument('--lr', type=float, default=5e-3, help='AdamW learning rate')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--jobs', type=int, default=2, help='runs in parallel')
    parser.add_argument('--num-workers', type=int, default=1)
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'tce_digits'))
    parser.add_argument('--out-md', default=osp.join(REPO, 'docs', 'results', 'tce_digits.md'))
    parser.add_argument('--out-png',
                        default=osp.join(REPO, 'docs', 'results', 'tce_digits.png'))
    parser.add_argument('--force', action='store_true', help='retrain existing runs')
    args = parser.parse_args(argv)
    if 'CE' not in args.methods:
        raise ValueError('the CE run is the reference of the report; keep it in --methods')
    args.warmup = min(args.warmup, max(1, args.iters // 4))
    jobs = [(m, s) for m in args.methods for s in args.seeds]
    t0 = time.time()
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        paths = list(pool.map(lambda ms: run_one(ms[0], ms[1], args), jobs))
    minutes = (time.time() - t0) / 60
    models: Dict[str, List[str]] = OrderedDict((m, []) for m in args.methods)
    for (m, _), p in zip(jobs, paths):
        models[m].append(p)
    results, classes = collect(models)
    md = build_report(results, classes, 'CE', title='TCE on the long-tailed digits data')
    plot_bars(results, classes, 'CE', args.out_png, title='Digits, per-class IoU')
    with open(paths[0]) as f:
        first = json.load(f)
    secs = [run_seconds(osp.dirname(p)) for p in paths]
    secs = [s for s in secs if s is not None]
    timing = (f'training runs took {np.mean(secs):.0f} s each on average (from their logs, '
              f'{len(secs)} runs, {args.jobs} at a time; this invocation: {minutes:.1f} min)'
              if secs else f'this invocation took {minutes:.1f} min')
    cmd = ' '.join(['python tools/experiments/tce_digits.py']
                   + list(argv if argv is not None else sys.argv[1:]))
    setup = [
        '## Setup', '',
        f'Produced by `{cmd}`.', '',
        f'- data: `mmext.DigitsSegDataset`, 64x64 canvases of real MNIST digits, 11 classes '
        '(background, digits 0-9), train imbalance ratio 10 (digit 0 ten times as frequent '
        'as digit 9), balanced val split;',
        f'- model: tiny DeepLabV3+ (ResNetV1c-18, width 16) from scratch, batch 8, AdamW '
        f'lr {args.lr:g}, {args.warmup}-iteration warm-up then poly decay, {args.iters} '
        f'iterations, CPU, {args.jobs} run(s) in parallel;',
        f'- methods: configs in `{CONFIG_DIR}` ({", ".join(METHODS[m] for m in args.methods)});',
        f'- seeds: {args.seeds} (model init, augmentation and sampling; same data); '
        f'{timing};',
        f'- evaluation: `mmext.FairIoUMetric` on {sum(first["area_label"])} labelled val '
        'pixels.', '']
    for method in args.methods:
        finals = [final_class_weights(osp.dirname(p)) for p in models[method]]
        finals = [w for w in finals if w]
        if finals:
            vals = np.array([list(w.values()) for w in finals])
            setup.append(f'{method}: final class weights w (Algorithm 1, line 8) between '
                         f'{vals.min():.3f} and {vals.max():.3f} over the runs (uniform: '
                         f'{1 / vals.shape[1]:.3f}).')
            setup.append('')
    md = md + '\n' + '\n'.join(setup) + '\n![per-class IoU](' + osp.relpath(
        args.out_png, osp.dirname(osp.abspath(args.out_md))) + ')\n'
    os.makedirs(osp.dirname(osp.abspath(args.out_md)), exist_ok=True)
    with open(args.out_md, 'w') as f:
        f.write(md)
    print(md)
    return md


if __name__ == '__main__':
    main()
