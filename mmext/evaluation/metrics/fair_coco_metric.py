"""Per-class fairness of a detector: mmdet's ``CocoMetric`` plus worst / std / bottom / top AP.

The TCE paper's fairness criteria (Sec. 3; :func:`~mmext.evaluation.functional.fairness_summary`,
the same rule :class:`FairIoUMetric` applies to class IoUs) applied to the per-class COCO AP
of a detector: with ``AP_c`` the AP@[.5:.95] of class ``c`` (mmdet's ``classwise`` table, area
"all", 100 detections),

* ``<metric>_worstAP`` = min_c AP_c, ``<metric>_stdAP`` = population std over classes;
* ``<metric>_bottom25_mAP`` / ``<metric>_top25_mAP``: mean AP of the ``ceil(K/4)`` lowest /
  highest classes (``fraction`` sets the share);
* ``<metric>_AP.<class name>``: every class's AP, as mmdet's ``<class>_precision`` keys.

A class without ground truth in the evaluated set has no AP (mmdet writes NaN) and is left out
of the statistics, as NaN classes are in ``FairIoUMetric``. Values keep mmdet's scale
(fractions, 3 decimals).
"""

import math
from typing import Dict, List, Optional, Union

import numpy as np
from mmdet.evaluation.metrics import CocoMetric

from mmext.registry import METRICS

from ..functional import fairness_summary

#: fairness_summary's keys -> this metric's suffixes
_KEYS = {
    'worstIoU': 'worstAP',
    'stdIoU': 'stdAP',
    'bottom25_mIoU': 'bottom25_mAP',
    'top25_mIoU': 'top25_mAP',
}


@METRICS.register_module()
class FairCocoMetric(CocoMetric):
    """mmdet's ``CocoMetric`` (class-wise) plus per-class fairness keys (module docstring).

    ``dict(type='mmext.FairCocoMetric', ann_file=..., metric='bbox')`` replaces a config's
    ``CocoMetric``: every key of mmdet's metric keeps its name and value.

    Args:
        fraction (float): Share of classes in the bottom / top groups. Defaults to 0.25.
        **kwargs: mmdet ``CocoMetric`` arguments (``ann_file``, ``metric``, ...);
            ``classwise`` is always on (the per-class APs are the input).
    """

    def __init__(self, fraction: float = 0.25, **kwargs) -> None:
        if not 0 < fraction <= 0.5:
            raise ValueError(f'fraction must be in (0, 0.5], got {fraction}')
        if kwargs.pop('classwise', True) is not True:
            raise ValueError('FairCocoMetric needs classwise=True (the per-class APs)')
        super().__init__(classwise=True, **kwargs)
        self.fraction = fraction

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's metrics, then the fairness keys (of ``segm`` when both ``bbox`` and ``segm``
        are evaluated: mmdet keeps only the last per-class table).

        Args:
            results (list): What :meth:`process` collected (mmdet's format).

        Returns:
            dict[str, float]: mmdet's keys and the fairness keys (module docstring).
        """
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        names: List[str] = list(self.dataset_meta['classes'])
        per_class = np.array(
            [_nan_if_missing(metrics.get(f'{n}_precision')) for n in names], dtype=np.float64
        )
        evaluated = [m for m in self.metrics if m in ('bbox', 'segm')]
        if not evaluated:
            return metrics
        # mmdet writes <class>_precision for each of bbox / segm in turn: the last one stays
        metric = evaluated[-1]
        summary = fairness_summary(per_class, None, self.fraction)
        for key, suffix in _KEYS.items():
            metrics[f'{metric}_{suffix}'] = _round3(summary[key])
        for name, ap in zip(names, per_class):
            metrics[f'{metric}_AP.{name}'] = _round3(ap)
        return metrics


def _nan_if_missing(value: Optional[Union[float, str]]) -> float:
    return float('nan') if value is None else float(value)


def _round3(value: float) -> float:
    return value if math.isnan(value) else round(float(value), 3)
