"""Fairness-aware IoU metric for semantic segmentation (TCE paper, Sec. 3 and Table 3).

:class:`FairIoUMetric` is mmseg's :class:`~mmseg.evaluation.IoUMetric` (it subclasses it, so
``aAcc``/``mIoU``/``mAcc`` are mmseg's own numbers, same keys, same percent scale and
rounding) plus the fairness criteria of "Tilted Cross-Entropy (TCE): Promoting Fairness in
Semantic Segmentation", Sec. 3 "Fairness and its evaluation criteria":

* per-class IoU (``IoU.<class name>``), ``worstIoU`` (worst-case class) and ``stdIoU``
  (population standard deviation over classes);
* ``bottom25_mIoU`` / ``top25_mIoU``: mean IoU of the ``ceil(K/4)`` lowest / highest classes,
  the classes being sorted by this model's IoU or, when ``reference`` is given, by a
  reference model's per-class IoU (the paper sorts every model by the MCCE model's IoU);
* ``p25_IoU`` / ``p75_IoU``: the 25th / 75th percentile of this model's class IoUs (numpy's
  linear interpolation) and ``p25_mIoU`` / ``p75_mIoU``: the mean IoU of the classes at or
  below / at or above that threshold (each model sorted by its own IoUs);
* ``fwIoU``: frequency-weighted IoU, :math:`\\sum_c (n_c / \\sum_l n_l)\\,\\mathrm{IoU}_c`
  with :math:`n_c` the ground-truth pixels of class ``c``.

With the Table 1 MCCE row the percentile pair is (64.60, 57.69), exactly the paper's Table 3.
The statistics themselves are :mod:`mmext.evaluation.functional.fairness`'s (re-exported here,
their former home).

**NaN classes.** A class absent from both the ground truth and the predictions has
``IoU = 0/0 = NaN``. As mmseg's ``nanmean`` does for ``mIoU``, such classes are left out of
every fairness statistic: ``K`` above is the number of classes with a defined IoU (and, when
a reference is used, a defined reference IoU). Their ``IoU.<name>`` entry stays NaN and is
written as ``null`` in the JSON dump. A class that is predicted but absent from the ground
truth has IoU 0 and counts, exactly as in mmseg's ``mIoU``.

**Out-of-range ground truth.** mmseg's ``IoUMetric`` drops ground-truth pixels outside
``[0, K)`` without a word (a label map with value 50 for 3 classes still gives
``aAcc: 100.0``). :meth:`FairIoUMetric.process` raises a ``ValueError`` instead, naming the
image (``img_path`` / ``seg_map_path`` of the sample) and the offending values; only
``ignore_index`` may lie outside the classes.
"""

import csv
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation.metrics import IoUMetric

from mmext.datasets.samplers.class_index import check_label_values
from mmext.registry import METRICS

# The fairness statistics live in mmext.evaluation.functional.fairness; they stay importable
# from this module (their former home) for backwards compatibility.
from ..functional.fairness import (
    ReferenceType,
    fairness_summary,
    frequency_weighted_iou,
    load_reference_iou,
)

__all__ = [
    'FairIoUMetric',
    'ReferenceType',
    'fairness_summary',
    'frequency_weighted_iou',
    'load_reference_iou',
]


def _sample_name(sample: dict) -> str:
    """``image <img_path> (seg_map_path <path>)`` from a data sample's metainfo."""
    img, seg = sample.get('img_path'), sample.get('seg_map_path')
    parts = ([f'image {img}'] if img else []) + ([f'seg_map_path {seg}'] if seg else [])
    if not parts:
        return 'an image without img_path / seg_map_path'
    return parts[0] if len(parts) == 1 else f'{parts[0]} ({parts[1]})'


@METRICS.register_module()
class FairIoUMetric(IoUMetric):
    """mmseg's IoUMetric plus the fairness criteria of the TCE paper (Table 3) and fwIoU.

    Keys (percent, rounded to 2 decimals like mmseg): mmseg's ``aAcc``, ``mIoU``, ``mAcc``
    (and ``mDice``/``mFscore``... when requested), ``fwIoU``, ``worstIoU``, ``stdIoU``,
    ``bottom25_mIoU``, ``top25_mIoU``, ``p25_IoU``, ``p25_mIoU``, ``p75_IoU``, ``p75_mIoU``
    and, with ``per_class=True``, ``IoU.<class name>``. See the module docstring for the
    definitions and the NaN-class rule.

    Args:
        ignore_index (int): Label ignored in evaluation. Defaults to 255.
        iou_metrics (list[str]): mmseg metrics (``'mIoU'``, ``'mDice'``, ``'mFscore'``).
            The fairness keys are computed from the IoU whatever this list holds.
            Defaults to ``['mIoU']``.
        nan_to_num (int, optional): Passed to mmseg's summary (mmseg semantics). The
            fairness statistics always leave NaN classes out. Defaults to None.
        beta (int): F-score beta (mmseg). Defaults to 1.
        reference (str | dict | list, optional): Reference per-class IoU that orders the
            classes for ``bottom25_mIoU``/``top25_mIoU`` (a JSON written by this metric, a
            ``{class: IoU}`` JSON/dict, or a list in class order). Defaults to None (order by
            this model's own IoU).
        fraction (float): Group size / percentile of the fairness keys. Defaults to 0.25.
        per_class (bool): Report ``IoU.<class>`` keys. Defaults to True.
        exclude_classes (Sequence[int | str]): Classes (index or name) left out of the
            fairness keys (``worstIoU``, ``stdIoU``, the 25 % groups and percentiles), e.g.
            ``['background']`` where the benchmark's target classes have none (Cityscapes'
            19 evaluated classes). ``aAcc``, ``mIoU``, ``fwIoU`` and ``IoU.<class>`` stay over
            every class. Defaults to ``()`` (every class: the previous behaviour).
        all_classes_prefix (str, optional): With ``exclude_classes``, also report the
            every-class fairness keys under this prefix (``'all_'`` gives ``all_worstIoU``
            ...), so both readings are logged. Defaults to None.
        dump_json (bool | str): Write the per-class table and all keys to JSON after every
            evaluation (main process only). ``True`` writes ``fair_iou.json`` into the work
            dir (the parent of the current logger's log-file folder, else the current
            directory); a string is the file path (relative paths are resolved against that
            work dir). Defaults to False.
        per_image_csv (str, optional): Also write the per-image x per-class IoU table
            (mmseg#3228) to this CSV after every evaluation (main process only; relative
            paths resolved like ``dump_json``): one row per image (``image`` = the file name
            of ``img_path``), one column per class, IoU in percent with 4 decimals, empty
            where the class is in neither the image's ground truth nor its prediction
            (0/0). Defaults to None (no per-image table).
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        output_dir (str, optional): Prediction output dir (mmseg). Defaults to None.
        format_only (bool): Only format results (mmseg). Defaults to False.
        prefix (str, optional): Metric key prefix. Defaults to None.
    """

    #: No default prefix, deliberately: the keys equal mmseg's IoUMetric's (``mIoU``, not
    #: ``fair/mIoU``), so ``save_best='mIoU'`` and existing mmseg configs and log parsers
    #: work unchanged (mmengine logs a one-line warning about the unset prefix); pass
    #: ``prefix='fair'`` to namespace the keys.
    default_prefix: Optional[str] = None

    def __init__(
        self,
        ignore_index: int = 255,
        iou_metrics: List[str] = ['mIoU'],
        nan_to_num: Optional[int] = None,
        beta: int = 1,
        reference: ReferenceType = None,
        fraction: float = 0.25,
        per_class: bool = True,
        exclude_classes: Sequence[Union[int, str]] = (),
        all_classes_prefix: Optional[str] = None,
        dump_json: Union[bool, str] = False,
        per_image_csv: Optional[str] = None,
        collect_device: str = 'cpu',
        output_dir: Optional[str] = None,
        format_only: bool = False,
        prefix: Optional[str] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            ignore_index=ignore_index,
            iou_metrics=iou_metrics,
            nan_to_num=nan_to_num,
            beta=beta,
            collect_device=collect_device,
            output_dir=output_dir,
            format_only=format_only,
            prefix=prefix,
            **kwargs,
        )
        if not 0 < fraction <= 0.5:
            raise ValueError(f'fraction must be in (0, 0.5], got {fraction}')
        if isinstance(reference, str) and not osp.isfile(reference):
            raise FileNotFoundError(f'reference IoU file not found: {reference}')
        self.reference = reference
        self.fraction = fraction
        self.per_class = per_class
        self.exclude_classes = tuple(exclude_classes)
        if all_classes_prefix is not None and not self.exclude_classes:
            raise ValueError('all_classes_prefix needs exclude_classes')
        self.all_classes_prefix = all_classes_prefix
        self.dump_json = dump_json
        self.per_image_csv = per_image_csv

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """mmseg's ``process``; with ``per_image_csv`` each image's row also keeps its name.

        Args:
            data_batch (dict): A batch of data from the dataloader.
            data_samples (Sequence[dict]): A batch of outputs from the model.

        Raises:
            ValueError: When a ground-truth map holds a value outside ``[0, K)`` that is not
                ``ignore_index`` (naming the image and the values).
        """
        if not self.format_only:
            num_classes = len(self.dataset_meta['classes'])
            for sample in data_samples:
                check_label_values(
                    sample['gt_sem_seg']['data'],
                    num_classes,
                    self.ignore_index,
                    f'ground truth of {_sample_name(sample)}',
                )
        start = len(self.results)
        super().process(data_batch, data_samples)
        if self.per_image_csv and not self.format_only:
            for i, sample in zip(range(start, len(self.results)), data_samples):
                # a 5th entry travels with the row through the distributed collection
                self.results[i] = (*self.results[i], osp.basename(sample.get('img_path', '')))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute mmseg's metrics and the fairness metrics.

        Args:
            results (list): ``(intersect, union, pred_area, label_area)`` per image, from
                :meth:`process` (mmseg's ``intersect_and_union``).

        Returns:
            Dict[str, float]: The metric values (percent, 2 decimals).
        """
        names = None
        if results and len(results[0]) == 5:  # per_image_csv: (..., image name)
            names = [r[4] for r in results]
            results = [r[:4] for r in results]
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        columns = tuple(zip(*results))
        area_intersect = sum(columns[0])
        area_union = sum(columns[1])
        area_label = sum(columns[3])
        if isinstance(area_intersect, torch.Tensor):
            area_intersect, area_union, area_label = (
                t.double().numpy() for t in (area_intersect, area_union, area_label)
            )
        with np.errstate(invalid='ignore', divide='ignore'):
            iou = np.asarray(area_intersect, np.float64) / np.asarray(area_union, np.float64)
            acc = np.asarray(area_intersect, np.float64) / np.asarray(area_label, np.float64)
        class_names = list(self.dataset_meta['classes'])
        # only the order of the reference matters, so its scale (percent or not) does not
        reference = load_reference_iou(self.reference, class_names)
        keep = self._fairness_classes(class_names)
        target = np.where(keep, iou, np.nan)
        ref = None if reference is None else np.where(keep, reference, np.nan)
        extra = fairness_summary(target, ref, self.fraction)
        if self.all_classes_prefix is not None:
            every = fairness_summary(iou, reference, self.fraction)
            extra.update({self.all_classes_prefix + k: v for k, v in every.items()})
        extra = {'fwIoU': frequency_weighted_iou(iou, area_label), **extra}
        for key, val in extra.items():
            metrics[key] = float(np.round(val * 100, 2))
        if self.per_class:
            for name, val in zip(class_names, iou):
                metrics[f'IoU.{name}'] = float(np.round(val * 100, 2))
        if self.dump_json and is_main_process():
            self._dump(class_names, iou, acc, np.asarray(area_label, np.float64), metrics)
        if names is not None and is_main_process():
            self._dump_per_image(class_names, names, results)
        return metrics

    def _fairness_classes(self, class_names: List[str]) -> np.ndarray:
        """Boolean mask of the classes the fairness keys cover (``exclude_classes`` out).

        Raises:
            ValueError: If an excluded class is neither a class name nor an index.
        """
        keep = np.ones(len(class_names), dtype=bool)
        for c in self.exclude_classes:
            if isinstance(c, str) and c in class_names:
                keep[class_names.index(c)] = False
            elif isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(class_names):
                keep[c] = False
            else:
                raise ValueError(
                    f'FairIoUMetric: exclude_classes entry {c!r} is neither a class name '
                    f'nor an index of the {len(class_names)} classes {class_names}'
                )
        return keep

    def _json_path(self, name: Optional[str] = None) -> str:
        """Resolve a dump path (``dump_json`` by default) against the work dir."""
        log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
        work_dir = osp.dirname(osp.dirname(osp.abspath(log_file))) if log_file else os.getcwd()
        if name is None:
            name = self.dump_json if isinstance(self.dump_json, str) else 'fair_iou.json'
        return name if osp.isabs(name) else osp.join(work_dir, name)

    def _dump_per_image(self, class_names: List[str], names: List[str], results: list) -> None:
        """Write the per-image x per-class IoU CSV (see ``per_image_csv``)."""
        path = self._json_path(self.per_image_csv)
        os.makedirs(osp.dirname(path) or '.', exist_ok=True)
        with open(path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['image', *class_names])
            for name, (inter, union, _, _) in zip(names, results):
                inter, union = (
                    np.asarray(t.cpu().double() if isinstance(t, torch.Tensor) else t, np.float64)
                    for t in (inter, union)
                )
                cells = ['' if u == 0 else f'{100 * i / u:.4f}' for i, u in zip(inter, union)]
                writer.writerow([name, *cells])
        print_log(
            f'FairIoUMetric: per-image IoU table ({len(names)} images) written to {path}',
            logger='current',
        )

    def _dump(
        self,
        class_names: List[str],
        iou: np.ndarray,
        acc: np.ndarray,
        area_label: np.ndarray,
        metrics: Dict[str, float],
    ) -> None:
        """Write the per-class table and the summary keys to JSON (NaN -> null)."""

        def clean(values: np.ndarray) -> List[Optional[float]]:
            return [None if np.isnan(v) else float(np.round(v * 100, 4)) for v in values]

        path = self._json_path()
        os.makedirs(osp.dirname(path) or '.', exist_ok=True)
        payload = OrderedDict(
            classes=class_names,
            IoU=clean(iou),
            Acc=clean(acc),
            area_label=[int(v) for v in area_label],
            metrics={
                k: (None if isinstance(v, float) and math.isnan(v) else float(v))
                for k, v in metrics.items()
            },
            reference=self.reference if isinstance(self.reference, str) else None,
            fraction=self.fraction,
        )
        with open(path, 'w') as f:
            json.dump(payload, f, indent=2)
        print_log(f'FairIoUMetric: per-class table written to {path}', logger='current')
