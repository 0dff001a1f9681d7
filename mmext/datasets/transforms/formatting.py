"""Packing of detection samples that carries the per-object mixup loss weights."""

from typing import Sequence

import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs

from mmext.registry import TRANSFORMS
from mmext.structures.instance_weights import read_gt_weights


@TRANSFORMS.register_module()
class PackDetInputsWithWeights(PackDetInputs):
    """mmdet's ``PackDetInputs`` that also packs ``gt_weights`` into ``gt_instances.weights``.

    mmdet's ``PackDetInputs`` only packs the keys of its ``mapping_table`` and silently drops
    ``gt_weights`` (the per-object loss weights written by ``mmext.CoherentMixUp``, Bag of
    Freebies Sec. 3.1 / Table 1 "weighted loss"). This subclass splits them exactly like the
    boxes: objects whose ``gt_ignore_flags`` is set go to ``ignored_instances.weights``, the
    others to ``gt_instances.weights`` (float32 tensors). A sample without ``gt_weights`` (no
    mixup, or mixup switched off for the last epochs) gets ones, so every data sample of a batch
    has the field and the weighted heads reduce to the upstream heads.

    Required Keys:

    - img
    - gt_bboxes (optional)
    - gt_bboxes_labels (optional)
    - gt_ignore_flags (optional)
    - gt_masks (optional)
    - gt_weights (np.float32, optional; ones when absent)

    Added Keys:

    - inputs (torch.Tensor)
    - data_samples (DetDataSample) with ``gt_instances.weights`` and
      ``ignored_instances.weights`` when the sample has ``gt_bboxes``

    Args:
        meta_keys (Sequence[str]): Meta keys packed into the data sample's metainfo; adds
            ``mixup_ratio`` to mmdet's defaults.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
            'flip',
            'flip_direction',
            'mixup_ratio',
        ),
    ) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the sample, then attach the per-object weights.

        Args:
            results (dict): Result dict from the data pipeline.

        Returns:
            dict: ``inputs`` and ``data_samples`` as mmdet's ``PackDetInputs``.

        Raises:
            ValueError: if ``gt_weights`` does not have one finite, non-negative entry per box.
        """
        packed = super().transform(results)
        if 'gt_bboxes' not in results:
            return packed
        weights = torch.from_numpy(read_gt_weights(results))
        data_sample = packed['data_samples']
        if 'gt_ignore_flags' in results:
            ignore = np.asarray(results['gt_ignore_flags'], dtype=bool)
            keep = torch.from_numpy(~ignore)
            data_sample.gt_instances.weights = weights[keep]
            data_sample.ignored_instances.weights = weights[~keep]
        else:
            data_sample.gt_instances.weights = weights
        return packed
