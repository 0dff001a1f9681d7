"""Fairness statistics of per-class scores (TCE paper, Sec. 3 "Fairness and its evaluation
criteria", Table 3), shared by :class:`~mmext.evaluation.FairIoUMetric`,
:class:`~mmext.evaluation.FairCocoMetric` and ``tools/analysis/tce_fairness_report.py``.

* :func:`fairness_summary`: ``worstIoU`` (worst-case class), ``stdIoU`` (population standard
  deviation over classes), ``bottom25_mIoU`` / ``top25_mIoU`` (mean of the ``ceil(K/4)``
  lowest / highest classes, ordered by the scores themselves or by a reference model's),
  ``p25_IoU`` / ``p75_IoU`` (numpy's linearly interpolated percentiles) and ``p25_mIoU`` /
  ``p75_mIoU`` (mean of the classes at or below / at or above them);
* :func:`frequency_weighted_iou`: :math:`\\sum_c (n_c / \\sum_l n_l)\\,\\mathrm{IoU}_c` with
  :math:`n_c` the ground-truth pixels of class ``c``;
* :func:`load_reference_iou`: a reference model's per-class IoU (a JSON written by
  ``FairIoUMetric(dump_json=...)``, a ``{class: IoU}`` mapping or a list in class order),
  aligned with the dataset's classes.

NaN marks a class without a defined score (``0/0``); such classes are left out of every
statistic, as mmseg's ``nanmean`` does for ``mIoU``.
"""

import json
import math
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np

__all__ = ['ReferenceType', 'fairness_summary', 'frequency_weighted_iou', 'load_reference_iou']

#: What ``reference`` may be: None, a JSON path, a ``{class: IoU}`` mapping or a list of IoUs.
ReferenceType = Union[None, str, Dict[str, float], Sequence[float]]


def _pct(fraction: float) -> int:
    """Percent label of a fraction (0.25 -> 25)."""
    return int(round(fraction * 100))


def fairness_summary(
    iou: np.ndarray, reference: Optional[np.ndarray] = None, fraction: float = 0.25
) -> Dict[str, float]:
    """Fairness statistics of per-class IoUs (TCE paper, Sec. 3 and Table 3).

    Args:
        iou (np.ndarray): Per-class IoU of the evaluated model, shape ``(K,)``; NaN marks a
            class without a defined IoU. Any scale (fractions or percent); the results use it.
        reference (np.ndarray, optional): Per-class IoU of the reference model that orders the
            classes for the sorted bottom/top means (Table 3 "sorted 25%"). ``None`` sorts by
            ``iou`` itself.
        fraction (float): Size of the bottom/top groups and the percentile, in ``(0, 0.5]``.
            Defaults to 0.25.

    Returns:
        dict: ``worstIoU``, ``stdIoU``, ``bottom{p}_mIoU``, ``top{p}_mIoU``, ``p{p}_IoU``,
        ``p{p}_mIoU``, ``p{100-p}_IoU``, ``p{100-p}_mIoU`` (``p = 100 * fraction``), all
        NaN when no class has a defined IoU.
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(f'fraction must be in (0, 0.5], got {fraction}')
    iou = np.asarray(iou, dtype=np.float64)
    lo, hi = _pct(fraction), 100 - _pct(fraction)
    keys = [
        'worstIoU',
        'stdIoU',
        f'bottom{lo}_mIoU',
        f'top{lo}_mIoU',
        f'p{lo}_IoU',
        f'p{lo}_mIoU',
        f'p{hi}_IoU',
        f'p{hi}_mIoU',
    ]
    out: Dict[str, float] = {k: float('nan') for k in keys}
    valid = ~np.isnan(iou)
    if not valid.any():
        return out
    vals = iou[valid]
    out['worstIoU'] = float(vals.min())
    out['stdIoU'] = float(vals.std())  # population std (ddof=0)

    # sorted bottom / top groups: ordering by the reference (or own) IoU
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != iou.shape:
            raise ValueError(f'reference has shape {reference.shape}, IoU has {iou.shape}')
        sel = valid & ~np.isnan(reference)
        order_key, group_vals = reference[sel], iou[sel]
    else:
        order_key, group_vals = vals, vals
    if group_vals.size:
        # ceil(fraction * K) without float noise (0.28 * 25 = 7.000000000000001 -> 7, not 8)
        k = max(1, math.ceil(round(fraction * group_vals.size, 9)))
        order = np.argsort(order_key, kind='stable')
        out[f'bottom{lo}_mIoU'] = float(group_vals[order[:k]].mean())
        out[f'top{lo}_mIoU'] = float(group_vals[order[-k:]].mean())

    # percentile thresholds of this model's own IoUs and the mean beyond them
    low_thr = float(np.percentile(vals, lo))
    high_thr = float(np.percentile(vals, hi))
    out[f'p{lo}_IoU'] = low_thr
    out[f'p{lo}_mIoU'] = float(vals[vals <= low_thr].mean())
    out[f'p{hi}_IoU'] = high_thr
    out[f'p{hi}_mIoU'] = float(vals[vals >= high_thr].mean())
    return out


def frequency_weighted_iou(iou: np.ndarray, area_label: np.ndarray) -> float:
    """Frequency-weighted IoU :math:`\\sum_c (n_c / \\sum_l n_l)\\,\\mathrm{IoU}_c`.

    Args:
        iou (np.ndarray): Per-class IoU, shape ``(K,)`` (NaN where undefined: such classes
            have no ground-truth pixel, hence weight 0).
        area_label (np.ndarray): Ground-truth pixel count per class, shape ``(K,)``.

    Returns:
        float: The fwIoU on the scale of ``iou``; NaN without any ground-truth pixel.
    """
    area_label = np.asarray(area_label, dtype=np.float64)
    total = area_label.sum()
    if total <= 0:
        return float('nan')
    freq = area_label / total
    return float(np.nansum(freq * np.asarray(iou, dtype=np.float64)))


def load_reference_iou(
    reference: ReferenceType, class_names: Sequence[str]
) -> Optional[np.ndarray]:
    """Per-class reference IoU aligned with ``class_names``.

    Args:
        reference (ReferenceType): ``None``; a JSON file path, either one written by
            :class:`~mmext.evaluation.FairIoUMetric` (``{"classes": [...], "IoU": [...]}``)
            or a mapping ``{class name: IoU}``; such a mapping itself; or a sequence of ``K``
            IoUs in class order. ``null``/NaN entries mark undefined IoUs.
        class_names (Sequence[str]): The dataset's class names.

    Returns:
        np.ndarray | None: Reference IoU per class (float64, NaN where undefined).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the reference misses classes or has the wrong length.
    """
    if reference is None:
        return None
    if isinstance(reference, str):
        if not osp.isfile(reference):
            raise FileNotFoundError(f'reference IoU file not found: {reference}')
        with open(reference) as f:
            reference = json.load(f)
        if isinstance(reference, dict) and 'classes' in reference and 'IoU' in reference:
            reference = dict(zip(reference['classes'], reference['IoU']))
    if isinstance(reference, dict):
        missing = [c for c in class_names if c not in reference]
        if missing:
            raise ValueError(f'reference IoU lacks classes {missing}')
        values = [reference[c] for c in class_names]
    else:
        values = list(reference)
        if len(values) != len(class_names):
            raise ValueError(
                f'reference IoU has {len(values)} values for {len(class_names)} classes'
            )
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
