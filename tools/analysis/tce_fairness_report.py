"""Fairness report of several segmentation models in the layout of the TCE paper.

Reads the per-class JSONs written by ``mmext.FairIoUMetric(dump_json=...)`` (or any JSON
with ``classes`` and ``IoU`` lists, in percent) and writes

* Table 1: per-class IoU of every model, classes sorted by the reference model's IoU
  (ascending), plus mIoU, split into blocks of ``--columns`` classes ("continued");
* Table 3: sorted bottom/top 25 % mIoU (classes ordered by the reference model), the
  (threshold, mean) pairs of each model's own 25th/75th percentiles, worst IoU and std;
* a bar chart (PNG, matplotlib Agg) of per-class IoU sorted by the reference model.

Several JSONs per model (seeds) are averaged: Table 1 shows the mean per-class IoU, Table 3
the mean +- std over seeds of each criterion computed per seed.

    python tools/analysis/tce_fairness_report.py CE=work_dirs/ce/fair_iou.json \\
        Focal=work_dirs/focal/fair_iou.json "TCE t=1=a.json,b.json" \\
        --reference CE --out-md report.md --out-png report.png
"""

import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmext.evaluation.functional import fairness_summary


def load_result(path: str) -> Dict[str, object]:
    """Read one per-class result JSON.

    Args:
        path (str): JSON with ``classes`` and ``IoU`` (percent, ``null`` = undefined).

    Returns:
        dict: ``classes`` (list) and ``iou`` (np.ndarray, NaN where undefined).
    """
    with open(path) as f:
        data = json.load(f)
    if 'classes' not in data or 'IoU' not in data:
        raise ValueError(f'{path}: expected the keys "classes" and "IoU"')
    iou = np.array([np.nan if v is None else float(v) for v in data['IoU']])
    if len(iou) != len(data['classes']):
        raise ValueError(f'{path}: {len(iou)} IoUs for {len(data["classes"])} classes')
    return dict(classes=list(data['classes']), iou=iou)


def collect(
    models: 'OrderedDict[str, List[str]]',
) -> Tuple['OrderedDict[str, np.ndarray]', List[str]]:
    """Load every model's JSONs into an ``(num_runs, K)`` IoU array per model.

    Args:
        models (OrderedDict): Model name -> JSON paths (one per run/seed).

    Returns:
        tuple: name -> IoU array (OrderedDict), and the class names shared by all results.
    """
    out: 'OrderedDict[str, np.ndarray]' = OrderedDict()
    classes: Optional[List[str]] = None
    for name, paths in models.items():
        runs = []
        for p in paths:
            res = load_result(p)
            if classes is None:
                classes = res['classes']
            elif res['classes'] != classes:
                raise ValueError(f'{p}: classes differ from the other results')
            runs.append(res['iou'])
        out[name] = np.stack(runs)
    if classes is None:
        raise ValueError('no result files given')
    return out, classes


def _nanmean(values: np.ndarray, axis: Optional[int] = None) -> np.ndarray:
    """``np.nanmean`` without the warning for all-NaN slices (they stay NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        return np.nanmean(values, axis=axis)


def _fmt(v: float) -> str:
    return '-' if np.isnan(v) else f'{v:.2f}'


def _fmt_pm(vals: np.ndarray) -> str:
    vals = vals[~np.isnan(vals)]
    if not len(vals):
        return '-'
    if len(vals) == 1:
        return f'{vals[0]:.2f}'
    return f'{vals.mean():.2f} ± {vals.std(ddof=1):.2f}'


def build_report(
    results: 'OrderedDict[str, np.ndarray]',
    classes: Sequence[str],
    reference: str,
    fraction: float = 0.25,
    columns: int = 10,
    title: str = 'Fairness report',
) -> str:
    """Markdown of Table 1 and Table 3 (see the module docstring).

    Args:
        results (OrderedDict): name -> ``(num_runs, K)`` IoU arrays (percent).
        classes (Sequence[str]): Class names.
        reference (str): Name of the model whose (mean) IoU orders the classes.
        fraction (float): Bottom/top group size and percentile. Defaults to 0.25.
        columns (int): Classes per Table 1 block. Defaults to 10.
        title (str): Heading.

    Returns:
        str: The Markdown text.
    """
    if reference not in results:
        raise ValueError(f'reference {reference!r} is not among {list(results)}')
    means = OrderedDict((n, _nanmean(r, axis=0)) for n, r in results.items())
    ref = means[reference]
    order = np.argsort(np.where(np.isnan(ref), np.inf, ref), kind='stable')
    pct = int(round(fraction * 100))
    runs = {n: r.shape[0] for n, r in results.items()}
    lines = [f'# {title}', '']
    lines.append(
        f'Classes sorted by the IoU of **{reference}** (ascending). IoU in percent'
        + (
            '; mean over runs: ' + ', '.join(f'{n}: {k}' for n, k in runs.items())
            if max(runs.values()) > 1
            else ''
        )
        + '.'
    )
    lines += ['', '## Table 1: per-class IoU', '']
    blocks = [order[i : i + columns] for i in range(0, len(order), columns)]
    for b, block in enumerate(blocks):
        head = ['Method' if b == 0 else 'continued'] + [classes[i] for i in block]
        if b == len(blocks) - 1:
            head.append('mIoU')
        lines.append('| ' + ' | '.join(head) + ' |')
        lines.append('|' + '---|' * len(head))
        for name, m in means.items():
            row = [name] + [_fmt(m[i]) for i in block]
            if b == len(blocks) - 1:
                row.append(_fmt_pm(_nanmean(results[name], axis=1)))
            lines.append('| ' + ' | '.join(row) + ' |')
        lines.append('')
    lines += [
        '## Table 3: fairness criteria',
        '',
        f'sorted {pct}%: mean IoU of the ceil(K/{round(1 / fraction)}) classes that '
        f'are worst / best for {reference}; percentiles: (threshold, mean IoU of the '
        f"classes beyond it) of each model's own IoUs.",
        '',
    ]
    head = [
        'Method',
        f'sorted {pct}% bottom',
        f'sorted {pct}% top',
        f'{pct}th percentile bottom',
        f'{100 - pct}th percentile top',
        'worst',
        'std',
        'mIoU',
    ]
    lines.append('| ' + ' | '.join(head) + ' |')
    lines.append('|' + '---|' * len(head))
    for name, r in results.items():
        per_run = []
        for run in r:
            s = fairness_summary(run, reference=ref, fraction=fraction)
            s['mIoU'] = float(_nanmean(run))
            per_run.append(s)

        def col(key):
            return np.array([s[key] for s in per_run])

        row = [
            name,
            _fmt_pm(col(f'bottom{pct}_mIoU')),
            _fmt_pm(col(f'top{pct}_mIoU')),
            f'({_fmt_pm(col(f"p{pct}_IoU"))}, {_fmt_pm(col(f"p{pct}_mIoU"))})',
            f'({_fmt_pm(col(f"p{100 - pct}_IoU"))}, {_fmt_pm(col(f"p{100 - pct}_mIoU"))})',
            _fmt_pm(col('worstIoU')),
            _fmt_pm(col('stdIoU')),
            _fmt_pm(col('mIoU')),
        ]
        lines.append('| ' + ' | '.join(row) + ' |')
    lines.append('')
    return '\n'.join(lines)


def plot_bars(
    results: 'OrderedDict[str, np.ndarray]',
    classes: Sequence[str],
    reference: str,
    path: str,
    title: str = 'Per-class IoU',
) -> None:
    """Grouped bar chart of mean per-class IoU, classes sorted by the reference model.

    Args:
        results (OrderedDict): name -> ``(num_runs, K)`` IoU arrays (percent).
        classes (Sequence[str]): Class names.
        reference (str): Model that orders the classes.
        path (str): Output PNG.
        title (str): Figure title.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    means = OrderedDict((n, _nanmean(r, axis=0)) for n, r in results.items())
    ref = means[reference]
    order = np.argsort(np.where(np.isnan(ref), np.inf, ref), kind='stable')
    k, n = len(order), len(means)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * k * max(1, n / 2)), 4.0))
    for j, (name, m) in enumerate(means.items()):
        ax.bar(np.arange(k) + (j - (n - 1) / 2) * width, np.nan_to_num(m[order]), width, label=name)
    ax.set_xticks(np.arange(k))
    ax.set_xticklabels([classes[i] for i in order], rotation=60, ha='right')
    ax.set_ylabel('IoU (%)')
    ax.set_title(f'{title} (sorted by {reference})')
    ax.legend(fontsize='small')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_models(specs: Sequence[str]) -> 'OrderedDict[str, List[str]]':
    """Parse ``NAME=path[,path...]`` arguments (the last ``=`` splits)."""
    models: 'OrderedDict[str, List[str]]' = OrderedDict()
    for spec in specs:
        if '=' not in spec:
            raise ValueError(f'expected NAME=path[,path...], got {spec!r}')
        name, paths = spec.rsplit('=', 1)
        models[name] = [p for p in paths.split(',') if p]
    return models


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Command-line entry point; returns the Markdown text."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', nargs='+', help='NAME=result.json[,run2.json,...]')
    parser.add_argument('--reference', help='model that orders the classes (default: first)')
    parser.add_argument('--fraction', type=float, default=0.25)
    parser.add_argument('--columns', type=int, default=10)
    parser.add_argument('--title', default='Fairness report')
    parser.add_argument('--out-md', help='write the Markdown here (default: print)')
    parser.add_argument('--out-png', help='write the bar chart here')
    args = parser.parse_args(argv)
    models = parse_models(args.results)
    results, classes = collect(models)
    reference = args.reference or next(iter(models))
    md = build_report(results, classes, reference, args.fraction, args.columns, args.title)
    if args.out_png:
        plot_bars(results, classes, reference, args.out_png, args.title)
        where = osp.dirname(osp.abspath(args.out_md)) if args.out_md else os.getcwd()
        md += f'\n![per-class IoU]({osp.relpath(osp.abspath(args.out_png), where)})\n'
    if args.out_md:
        os.makedirs(osp.dirname(osp.abspath(args.out_md)), exist_ok=True)
        with open(args.out_md, 'w') as f:
            f.write(md)
    else:
        print(md)
    return md


if __name__ == '__main__':
    main()
