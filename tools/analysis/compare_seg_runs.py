"""Compare trained segmenters side by side: per-class IoU, fairness keys and predictions.

    python tools/analysis/compare_seg_runs.py \
        --run CE=CONFIG_A:CKPT_A:METRICS_A.json \
        --run "TCE class t=1=CONFIG_B:CKPT_B:METRICS_B.json" \
        [--num-images 4] [--out work_dirs/demo/compare.png]

Each ``--run`` is ``LABEL=CONFIG:CHECKPOINT:METRICS`` where METRICS is the JSON that
``tools/test.py --out`` wrote (the metric keys of ``mmext.FairIoUMetric``: ``IoU.<class>``,
``mIoU``, ``worstIoU``, ``stdIoU``, ``bottom25_mIoU``, ...). The script prints one table with a
column per run (per-class IoU, then the summary and fairness keys) and writes a PNG: the
per-class IoU bars of every run, and the first ``--num-images`` validation images with their
ground truth and each run's prediction. ``tools/demo.sh`` calls it for the CE baseline and
class-level TCE.
"""

import argparse
import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

#: Summary keys shown under the per-class rows, in this order (those a run lacks are skipped).
SUMMARY_KEYS = (
    'mIoU',
    'worstIoU',
    'stdIoU',
    'bottom25_mIoU',
    'top25_mIoU',
    'fwIoU',
    'mAcc',
    'aAcc',
)


class Run(NamedTuple):
    """One trained model to compare."""

    label: str
    config: str
    checkpoint: str
    metrics: Dict[str, float]


def parse_run(text: str) -> Run:
    """Parse ``LABEL=CONFIG:CHECKPOINT:METRICS`` (the label may contain ``=``; the last one splits).

    Args:
        text (str): The ``--run`` value.

    Returns:
        Run: The run with its metrics loaded.

    Raises:
        ValueError: When the value is malformed or a file does not exist.
    """
    label, sep, paths = text.rpartition('=')
    parts = paths.split(':')
    if not sep or not label or len(parts) != 3:
        raise ValueError(f'--run {text!r}: expected LABEL=CONFIG:CHECKPOINT:METRICS')
    for path in parts:
        if not osp.isfile(path):
            raise ValueError(f'--run {label!r}: {path} does not exist')
    with open(parts[2]) as f:
        metrics = json.load(f)
    return Run(label, parts[0], parts[1], metrics)


def class_names(metrics: Dict[str, float]) -> List[str]:
    """The class names of the ``IoU.<class>`` keys, in the order the metric wrote them."""
    return [k[len('IoU.') :] for k in metrics if k.startswith('IoU.')]


def comparison_table(runs: Sequence[Run]) -> str:
    """A markdown table: one row per class IoU and per summary key, one column per run."""
    names = class_names(runs[0].metrics)
    head = '| | ' + ' | '.join(r.label for r in runs) + ' |'
    lines = [head, '|---' * (len(runs) + 1) + '|']

    def row(title: str, key: str) -> str:
        cells = []
        for r in runs:
            v = r.metrics.get(key)
            cells.append('n/a' if v is None else f'{float(v):.2f}')
        return f'| {title} | ' + ' | '.join(cells) + ' |'

    lines += [row(f'IoU {n}', f'IoU.{n}') for n in names]
    lines += [row(k, k) for k in SUMMARY_KEYS if any(k in r.metrics for r in runs)]
    return '\n'.join(lines)


def _val_samples(config: str, num: int) -> List[dict]:
    """The first ``num`` validation samples (image path, label-map path) of ``config``."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    import mmext  # noqa: F401

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg.val_dataloader.dataset.copy()
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    return [dataset.get_data_info(i) for i in range(min(num, len(dataset)))]


def _predict(run: Run, images: Sequence[np.ndarray]) -> List[np.ndarray]:
    from mmseg.apis import inference_model, init_model

    model = init_model(run.config, run.checkpoint, device='cpu')
    return [inference_model(model, img).pred_sem_seg.data[0].numpy() for img in images]


def comparison_figure(
    runs: Sequence[Run],
    images: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    preds: Sequence[Sequence[np.ndarray]],
):
    """The figure: per-class IoU bars of every run, then images, ground truth, predictions.

    The legend (one entry per run with its mIoU, std and worst-class IoU) sits above the bars,
    outside the axes, so that it hides no class's bar.

    Args:
        runs (Sequence[Run]): The runs.
        images (Sequence[np.ndarray]): Validation images, ``(H, W, 3)`` BGR.
        truths (Sequence[np.ndarray]): Their label maps, ``(H, W)``.
        preds (Sequence[Sequence[np.ndarray]]): Per run, its label map of each image.

    Returns:
        matplotlib.figure.Figure: The figure (laid out; the caller saves and closes it).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = class_names(runs[0].metrics)
    n_cls = len(names)
    rows = 1 + len(images)
    cols = 2 + len(runs)
    fig = plt.figure(figsize=(2.4 * cols, 3.0 + 2.2 * len(images)))
    grid = fig.add_gridspec(rows, cols, height_ratios=[1.6] + [1] * len(images))
    ax = fig.add_subplot(grid[0, :])
    width = 0.8 / len(runs)
    x = np.arange(n_cls)
    for i, r in enumerate(runs):
        vals = [r.metrics.get(f'IoU.{n}') for n in names]
        vals = [np.nan if v is None else float(v) for v in vals]
        summary = (
            f'{r.label} (mIoU {r.metrics.get("mIoU", np.nan):.1f}, '
            f'std {r.metrics.get("stdIoU", np.nan):.1f}, '
            f'worst {r.metrics.get("worstIoU", np.nan):.1f})'
        )
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, vals, width, label=summary)
    ax.set_xticks(x, names)
    ax.set_ylabel('IoU (%)')
    fig.suptitle('Per-class IoU on the validation split')
    # above the axes, under the title: inside, it covered the last (rarest) classes' bars
    ax.legend(
        fontsize=8,
        loc='lower center',
        bbox_to_anchor=(0.5, 1.01),
        ncol=min(len(runs), 3),
        frameon=False,
    )
    cmap = plt.get_cmap('tab20', max(n_cls, 2))
    for j, (img, truth) in enumerate(zip(images, truths)):
        panels = [('image', img[..., ::-1]), ('ground truth', truth)]
        panels += [(r.label, p[j]) for r, p in zip(runs, preds)]
        for k, (title, panel) in enumerate(panels):
            a = fig.add_subplot(grid[1 + j, k])
            if panel.ndim == 3:
                a.imshow(panel)
            else:
                shown = np.ma.masked_where(panel >= n_cls, panel)
                a.imshow(shown, cmap=cmap, vmin=0, vmax=max(n_cls - 1, 1), interpolation='nearest')
            a.set_axis_off()
            if j == 0:
                a.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw(runs: Sequence[Run], out: str, num_images: int = 4) -> None:
    """Write the PNG of :func:`comparison_figure` for the first validation images.

    Args:
        runs (Sequence[Run]): The runs; the first one's config gives the validation images.
        out (str): The PNG path.
        num_images (int): How many validation images to show. Defaults to 4.
    """
    from PIL import Image

    samples = _val_samples(runs[0].config, num_images)
    images = [np.asarray(Image.open(s['img_path']).convert('RGB'))[..., ::-1] for s in samples]
    truths = [np.asarray(Image.open(s['seg_map_path'])) for s in samples]
    preds = [_predict(r, images) for r in runs]
    fig = comparison_figure(runs, images, truths, preds)
    import matplotlib.pyplot as plt  # after comparison_figure chose the Agg backend

    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--run',
        action='append',
        required=True,
        help='LABEL=CONFIG:CHECKPOINT:METRICS (repeat, at least two)',
    )
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--out', help='PNG path (no PNG without it)')
    args = parser.parse_args(argv)
    try:
        runs = [parse_run(r) for r in args.run]
    except ValueError as err:
        parser.error(str(err))
    if len(runs) < 2:
        parser.error('give at least two --run to compare')
    table = comparison_table(runs)
    print(table)
    if args.out:
        draw(runs, args.out, args.num_images)
        print(f'[compare] figure written to {args.out}')
    return table


if __name__ == '__main__':
    main()
