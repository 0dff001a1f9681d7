"""Draw a few training samples of a coherent-mixup config with their boxes and loss weights.

Builds the training dataset of the config (e.g. ``MultiImageMixDataset`` with
``mmext.CoherentMixUp`` + ``mmext.PackDetInputsWithWeights``), takes ``--num`` samples as the
model receives them and writes one PNG grid: every box is drawn with its class name and its
mixup loss weight ``w`` (``gt_instances.weights``); the title shows the blending ratio
``lambda`` of the first image. Boxes of the first image are green, those of the second
(weight ``1 - lambda``) orange.

    python tools/analysis/visualize_coherent_mixup.py \
        configs/bag_of_freebies/digits/yolov3_r18-tiny_coherent-mixup_1xb8-8e_digits-det.py \
        --out docs/results/coherent_mixup_samples.png
"""

import argparse
import os
import os.path as osp
from typing import List, Optional

import numpy as np

import mmext  # noqa: F401  (registration)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config whose train dataset uses CoherentMixUp')
    parser.add_argument('--out', default='docs/results/coherent_mixup_samples.png')
    parser.add_argument('--num', type=int, default=6, help='number of samples')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--scale', type=int, default=3, help='upscaling of small images')
    return parser.parse_args(argv)


def draw_samples(dataset, num: int, scale: int, out: str) -> List[dict]:
    """Render ``num`` samples of ``dataset`` into a PNG grid.

    Args:
        dataset: A dataset whose items are packed with ``PackDetInputsWithWeights``.
        num (int): Number of samples (first ``num`` indices).
        scale (int): Integer upscaling of the images.
        out (str): Output PNG path.

    Returns:
        list[dict]: Per sample ``lambda``, ``labels`` and ``weights`` (as drawn).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    classes = dataset.metainfo['classes']
    cols = min(num, 3)
    rows = int(np.ceil(num / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4.3 * rows), squeeze=False)
    drawn = []
    for k in range(rows * cols):
        ax = axes[k // cols][k % cols]
        ax.axis('off')
        if k >= num:
            continue
        packed = dataset[k]
        sample = packed['data_samples']
        img = packed['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # BGR -> RGB
        img = np.clip(img, 0, 255).astype(np.uint8)
        img = np.kron(img, np.ones((scale, scale, 1), np.uint8))
        lam = float(sample.metainfo.get('mixup_ratio', 1.0))
        boxes = sample.gt_instances.bboxes
        boxes = (boxes.tensor if hasattr(boxes, 'tensor') else boxes).numpy() * scale
        labels = sample.gt_instances.labels.numpy()
        weights = sample.gt_instances.weights.numpy()
        ax.imshow(img)
        ax.set_title(f'sample {k}: lambda = {lam:.2f}', fontsize=10)
        for box, label, w in zip(boxes, labels, weights):
            first = abs(w - lam) <= abs(w - (1 - lam))
            color = 'lime' if first else 'orange'
            ax.add_patch(
                Rectangle(
                    (box[0], box[1]),
                    box[2] - box[0],
                    box[3] - box[1],
                    fill=False,
                    edgecolor=color,
                    linewidth=1.5,
                )
            )
            ax.text(
                box[0],
                box[1] - 2,
                f'{classes[label]} w={w:.2f}',
                color='black',
                fontsize=7,
                bbox=dict(facecolor=color, alpha=0.8, pad=1, linewidth=0),
            )
        drawn.append(
            dict(
                index=k,
                mixup_ratio=lam,
                labels=labels.tolist(),
                weights=[round(float(w), 4) for w in weights],
            )
        )
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return drawn


def main(argv: Optional[List[str]] = None) -> None:
    """Build the config's train dataset and draw the samples."""
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    np.random.seed(args.seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    for info in draw_samples(dataset, args.num, args.scale, args.out):
        print(info)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
