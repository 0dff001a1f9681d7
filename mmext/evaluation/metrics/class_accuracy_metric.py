"""Per-class accuracy and many / medium / few-shot accuracy of single-label classification.

Per class ``k``: accuracy_k = (# val samples of class k predicted k) / (# val samples of
class k) x 100 (the class recall). With the training-set class sizes ``class_counts``, the
classes are grouped as in the long-tailed recognition literature (Liu et al., "Large-Scale
Long-Tailed Recognition in an Open World", CVPR 2019, Sec. 5): *many-shot* (more than
``many_shot`` training images, default 100), *few-shot* (fewer than ``few_shot``, default
20) and *medium-shot* (the rest); a group's accuracy is the mean of its classes' accuracies.
The ICU paper's long-tailed Table 2 reports overall accuracy only; these groups show where a
gain comes from.

Keys (every value a float, so that mmengine logs them as scalars): ``<prefix>/<class name>``
for every class with validation samples, ``<prefix>/mean`` (mean per-class accuracy) and,
with ``class_counts``, ``<prefix>/many``, ``<prefix>/medium``, ``<prefix>/few`` for the
non-empty groups.
"""

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmext.registry import METRICS


def shot_groups(
    class_counts: Sequence[int], many_shot: int = 100, few_shot: int = 20
) -> Dict[str, List[int]]:
    """Class indices of the many (> many_shot), medium and few (< few_shot) groups.

    Args:
        class_counts (Sequence[int]): Training images per class.
        many_shot (int): Many-shot threshold. Defaults to 100.
        few_shot (int): Few-shot threshold. Defaults to 20.

    Returns:
        dict[str, list[int]]: ``many``, ``medium`` and ``few`` (possibly empty).
    """
    groups: Dict[str, List[int]] = dict(many=[], medium=[], few=[])
    for k, n in enumerate(class_counts):
        key = 'many' if n > many_shot else 'few' if n < few_shot else 'medium'
        groups[key].append(k)
    return groups


@METRICS.register_module()
class ClassAccuracyMetric(BaseMetric):
    """Per-class accuracy and shot-group accuracy (module docstring).

    Args:
        class_counts (Sequence[int], optional): Training images per class (class order of
            the dataset); enables the many / medium / few keys. Defaults to None.
        many_shot (int): More training images than this: many-shot. Defaults to 100.
        few_shot (int): Fewer training images than this: few-shot. Defaults to 20.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'class_acc'``.
    """

    default_prefix = 'class_acc'

    def __init__(
        self,
        class_counts: Optional[Sequence[int]] = None,
        many_shot: int = 100,
        few_shot: int = 20,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if few_shot > many_shot:
            raise ValueError(f'few_shot ({few_shot}) must be <= many_shot ({many_shot})')
        self.class_counts = None if class_counts is None else [int(n) for n in class_counts]
        self.many_shot = many_shot
        self.few_shot = few_shot

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep (predicted, true) labels of every sample.

        The labels of the whole batch are gathered on their device and copied to the host at
        once (one transfer per batch, not two per sample).

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Outputs with ``pred_label`` and ``gt_label``
                (tensors, numpy arrays or ints; the first element is the label).
        """
        if not data_samples:
            return
        firsts = [
            torch.as_tensor(sample[key]).reshape(-1)[:1]
            for key in ('pred_label', 'gt_label')
            for sample in data_samples
        ]
        if any(t.numel() == 0 for t in firsts):
            raise ValueError('every data sample needs a non-empty pred_label and gt_label')
        if len({t.device for t in firsts}) > 1:  # mixed devices: gather on the host
            firsts = [t.cpu() for t in firsts]
        values = torch.cat([t.long() for t in firsts]).cpu().tolist()
        half = len(data_samples)
        self.results.extend(zip(values[:half], values[half:]))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Per-class, mean per-class and shot-group accuracies (percent).

        Args:
            results (list[tuple]): ``(pred, gt)`` pairs.

        Returns:
            dict[str, float]: The keys of the module docstring (without prefix).
        """
        classes = (self.dataset_meta or {}).get('classes')
        pairs = np.array(results, dtype=np.int64).reshape(-1, 2)
        num_classes = len(classes) if classes else int(pairs.max()) + 1 if len(pairs) else 0
        if self.class_counts is not None and len(self.class_counts) != num_classes:
            raise ValueError(
                f'class_counts has {len(self.class_counts)} entries for {num_classes} classes'
            )
        names = list(classes) if classes else [str(k) for k in range(num_classes)]
        acc = np.full(num_classes, np.nan)
        for k in range(num_classes):
            mine = pairs[pairs[:, 1] == k]
            if len(mine):
                acc[k] = float((mine[:, 0] == k).mean()) * 100
        out = {names[k]: float(acc[k]) for k in range(num_classes) if np.isfinite(acc[k])}
        out['mean'] = float(np.nanmean(acc)) if np.isfinite(acc).any() else 0.0
        if self.class_counts is not None:
            for group, members in shot_groups(
                self.class_counts, self.many_shot, self.few_shot
            ).items():
                vals = acc[members] if members else np.array([])
                if np.isfinite(vals).any():
                    out[group] = float(np.nanmean(vals))
        return out
