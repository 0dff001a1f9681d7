"""Many / medium / few-shot top-1 accuracy for long-tailed classification (mmpretrain)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmext.registry import METRICS


@METRICS.register_module()
class ShotAccuracy(BaseMetric):
    """Top-1 accuracy over all classes and over the many-, medium- and few-shot classes.

    The long-tailed recognition split (Liu et al., OLTR, 2019): a class is *many-shot* with
    more than ``many_thr`` training images, *few-shot* with fewer than ``few_thr``, *medium*
    otherwise (defaults: > 100, 20-100, < 20). The accuracy of a group is the fraction of its
    test samples predicted correctly (sample-averaged, as in OLTR's ``shot_acc``); a group
    without test samples is NaN. ``process`` reads mmpretrain ``DataSample`` dicts
    (``pred_label``, ``gt_label``).

    Args:
        train_class_counts (Sequence[int]): Training images per class, in class order.
        many_thr (int): Classes with more training images are many-shot. Defaults to 100.
        few_thr (int): Classes with fewer training images are few-shot. Defaults to 20.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'shot'``.
    """
    default_prefix: Optional[str] = 'shot'

    def __init__(self,
                 train_class_counts: Sequence[int],
                 many_thr: int = 100,
                 few_thr: int = 20,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        counts = np.asarray(train_class_counts, dtype=np.int64)
        if counts.ndim != 1 or len(counts) == 0 or np.any(counts < 0):
            raise ValueError('train_class_counts must be non-negative counts, one per class')
        if not few_thr <= many_thr:
            raise ValueError(f'few_thr ({few_thr}) must not exceed many_thr ({many_thr})')
        self.counts = counts
        self.many_thr, self.few_thr = int(many_thr), int(few_thr)

    def groups(self) -> Dict[str, np.ndarray]:
        """Boolean class masks of the three groups."""
        many = self.counts > self.many_thr
        few = self.counts < self.few_thr
        return dict(many=many, medium=~many & ~few, few=few)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store ``(gt, pred)`` of every sample."""
        for sample in data_samples:
            gt = int(np.asarray(sample['gt_label']).reshape(-1)[0])
            pred = int(np.asarray(sample['pred_label']).reshape(-1)[0])
            self.results.append((gt, pred))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """``top1``, ``many_top1``, ``medium_top1``, ``few_top1`` in percent."""
        gt, pred = (np.asarray(c, dtype=np.int64) for c in zip(*results))
        if gt.max() >= len(self.counts):
            raise ValueError(f'label {gt.max()} but train_class_counts has {len(self.counts)} '
                             'classes')
        correct = gt == pred
        out = {'top1': float(100 * correct.mean())}
        for name, mask in self.groups().items():
            sel = mask[gt]
            out[f'{name}_top1'] = float(100 * correct[sel].mean()) if sel.any() else float('nan')
        return out
