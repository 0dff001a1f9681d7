"""Class pixel frequencies of a segmentation dataset and the Focal-loss alpha of the TCE paper.

The TCE paper (Sec. 3) trains its Focal-loss baseline with ``gamma = 2`` and the class
weights alpha "set to the inverse (normalized) class pixel counts computed across the whole
dataset":

.. math:: f_c = n_c / \\sum_l n_l, \\qquad \\alpha_c = f_c^{-1} / \\sum_l f_l^{-1},

with :math:`n_c` the number of pixels of class ``c`` in the label maps, decoded exactly as
mmseg's ``LoadAnnotations`` does (``reduce_zero_label``, ``label_map``; ``ignore_index``
pixels are not counted). The alphas sum to 1, so each lies in ``[0, 1]`` as mmseg's
``FocalLoss(alpha=[...])`` requires. A class without any pixel gets alpha 0 (with a warning).

    python tools/analysis/class_pixel_frequency.py CONFIG [--split train] \\
        [--out data/cityscapes/class_pixel_frequency.json] \\
        [--out-base configs/tilted_ce/_base_/focal_alpha_cityscapes.py] [--cfg-options k=v ...]

The JSON (``--out``) holds ``classes``, ``pixel_count``, ``frequency`` and ``focal_alpha``.
``--out-base`` writes a config base file defining ``focal_alpha`` (and ``focal_alpha_classes``):
the Focal configs of ``configs/tilted_ce`` list it in their ``_base_`` and use
``_base_.focal_alpha``, so no config runs file-reading code.
"""

import argparse
import json
import os
import os.path as osp
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Sequence

import numpy as np
from mmengine.config import DictAction


def label_map_counts(info: Dict[str, Any], num_classes: int) -> np.ndarray:
    """Pixel count per class of one label map, decoded by mmseg's ``LoadAnnotations``.

    Args:
        info (dict): A data info with ``seg_map_path`` (and ``reduce_zero_label``,
            ``label_map`` as mmseg datasets provide).
        num_classes (int): Number of classes; other values (ignore) are not counted.

    Returns:
        np.ndarray: ``(num_classes,)`` int64 counts.

    Raises:
        OSError: Naming the label map when it cannot be decoded (e.g. a truncated PNG).
    """
    from mmseg.datasets.transforms import LoadAnnotations

    from mmext.utils.image_files import damaged_file_error

    results = dict(
        seg_map_path=info['seg_map_path'],
        reduce_zero_label=info.get('reduce_zero_label', False),
        label_map=info.get('label_map'),
        seg_fields=[],
    )
    try:
        seg = LoadAnnotations()(results)['gt_seg_map']
    except FileNotFoundError:
        raise  # names the file already
    except Exception as e:  # noqa: BLE001  (a decoder failure: name the file)
        raise damaged_file_error(info['seg_map_path'], e, 'label map') from e
    return np.bincount(seg.ravel(), minlength=256)[:num_classes].astype(np.int64)


def class_pixel_counts(dataset: Any, num_workers: int = 8, progress: bool = True) -> np.ndarray:
    """Total pixel count per class over a dataset's label maps.

    Args:
        dataset: An mmseg dataset (``get_data_info(i)`` with ``seg_map_path``).
        num_workers (int): Decoding threads. Defaults to 8.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        np.ndarray: ``(num_classes,)`` int64 counts.
    """
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    num_classes = len(dataset.metainfo['classes'])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    if not infos or 'seg_map_path' not in infos[0]:
        raise ValueError('the dataset has no seg_map_path in its data infos')
    total = np.zeros(num_classes, dtype=np.int64)
    bar = None
    if progress:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(infos))
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        for counts in pool.map(lambda i: label_map_counts(i, num_classes), infos):
            total += counts
            if bar is not None:
                bar.update()
    if bar is not None:
        print(flush=True)
    return total


def focal_alpha(counts: Sequence[int]) -> np.ndarray:
    """Normalised inverse class pixel frequency (see the module docstring).

    Args:
        counts (Sequence[int]): Pixel count per class.

    Returns:
        np.ndarray: Alpha per class, summing to 1 (0 for classes without pixels).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ValueError('no labelled pixel in the dataset')
    freq = counts / counts.sum()
    if (freq == 0).any():
        warnings.warn(
            f'classes {np.flatnonzero(freq == 0).tolist()} have no pixel; their alpha is set to 0'
        )
    inv = np.where(freq > 0, 1.0 / np.where(freq > 0, freq, 1.0), 0.0)
    return inv / inv.sum()


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Command-line entry point; returns the written dictionary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a config with <split>_dataloader.dataset')
    parser.add_argument('--split', default='train', help='train, val or test')
    parser.add_argument('--out', help='JSON output path')
    parser.add_argument('--out-base', help='config base file (.py) defining focal_alpha')
    parser.add_argument('--num-workers', type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config settings, as in tools/train.py',
    )
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401  (registration)
    from mmext.registry import DATASETS

    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset_cfg = cfg[f'{args.split}_dataloader']['dataset']
    dataset = DATASETS.build(dataset_cfg)
    counts = class_pixel_counts(dataset, args.num_workers)
    alpha = focal_alpha(counts)
    classes = list(dataset.metainfo['classes'])
    result = dict(
        config=args.config,
        split=args.split,
        classes=classes,
        pixel_count=[int(c) for c in counts],
        frequency=[float(f) for f in counts / counts.sum()],
        focal_alpha=[float(a) for a in alpha],
    )
    width = max(len(c) for c in classes)
    print(f'{"class":<{width}}  {"pixels":>12}  {"frequency":>10}  {"alpha":>8}')
    for c, n, f, a in zip(classes, counts, result['frequency'], alpha):
        print(f'{c:<{width}}  {n:>12d}  {f:>10.6f}  {a:>8.5f}')
    print('focal_alpha =', json.dumps([round(a, 6) for a in result['focal_alpha']]))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'written to {args.out}')
    if args.out_base:
        write_alpha_base(args.out_base, result, argv)
        print(f'written to {args.out_base}')
    return result


def write_alpha_base(
    path: str, result: Dict[str, Any], argv: Optional[Sequence[str]] = None
) -> None:
    """Write ``focal_alpha`` as a config base file (what the Focal configs inherit).

    Args:
        path (str): The ``.py`` file to write.
        result (dict): What :func:`main` computed (``config``, ``split``, ``classes``,
            ``focal_alpha``).
        argv (Sequence[str], optional): The command-line arguments, recorded in the header.
    """
    if not path.endswith('.py'):
        raise ValueError(f'--out-base {path}: a config base file must end with .py')
    command = ' '.join(
        [
            'python tools/analysis/class_pixel_frequency.py',
            *(sys.argv[1:] if argv is None else argv),
        ]
    )
    alphas = ',\n    '.join(f'{a!r}' for a in result['focal_alpha'])
    text = (
        '# Focal-loss alpha of the TCE paper (Sec. 3): the normalised inverse class pixel\n'
        f'# frequency of the {result["split"]} split of {result["config"]}.\n'
        '# Written by (do not edit; rerun it instead):\n'
        f'#   {command}\n'
        f'focal_alpha_classes = {list(result["classes"])!r}\n'
        f'focal_alpha = [\n    {alphas},\n]\n'
    )
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
