"""Faster R-CNN RPN head whose losses are scaled per image by its mixup ratio (GluonCV)."""

import math
from typing import List, Sequence

from mmdet.models.dense_heads import RPNHead
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from mmext.registry import MODELS

#: metainfo key of the blending ratio written by ``mmext.CoherentMixUp`` and packed by
#: ``mmext.PackDetInputsWithWeights`` (1.0 for an image that was not mixed)
MIX_RATIO_KEY = 'mixup_ratio'


def image_mix_weights(batch_img_metas: Sequence[dict]) -> List[float]:
    """Per-image loss weights of GluonCV's Faster R-CNN mixup: each image's mix ratio.

    GluonCV's Faster R-CNN training (``gluoncv/model_zoo/rcnn/faster_rcnn/data_parallel.py``,
    ``ForwardBackwardTask.forward_backward``: ``total_loss = rpn_loss.sum() * mix_ratio +
    rcnn_loss.sum() * mix_ratio``; ``scripts/detection/faster_rcnn/train_faster_rcnn.py`` sets
    ``mix_ratio = 0.5`` while mixup is on and 1.0 otherwise) scales the whole loss of an image
    by the blending ratio it was mixed with. GluonCV only mixes evenly (0.5:0.5, a TODO in the
    script), where the ratio of the first image equals that of the second; this reads the
    ratio of the first image, ``metainfo['mixup_ratio']`` (Bag of Freebies Sec. 3.1), so use
    ``mmext.CoherentMixUp(ratio=0.5)`` for the authors' recipe. An image without the key (not
    mixed, or mixup switched off by ``mmext.MixupSwitchOffHook``) gets 1.0.

    The values are Python floats from the metainfo: reading them needs no device sync.

    Args:
        batch_img_metas (Sequence[dict]): Meta information of each image.

    Returns:
        list[float]: One weight per image, in [0, 1].

    Raises:
        ValueError: if a ratio is not a finite number in [0, 1].
    """
    weights = []
    for meta in batch_img_metas:
        value = float(meta.get(MIX_RATIO_KEY, 1.0))
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f'metainfo["{MIX_RATIO_KEY}"] must be in [0, 1], got {value}')
        weights.append(value)
    return weights


@MODELS.register_module()
class ImageWeightedRPNHead(RPNHead):
    """mmdet's ``RPNHead`` whose losses are scaled per image by its mixup ratio.

    The authors' code of Bag of Freebies (GluonCV, ``ForwardBackwardTask.forward_backward`` in
    ``gluoncv/model_zoo/rcnn/faster_rcnn/data_parallel.py``) multiplies the RPN loss (objectness
    and box regression, positive and negative anchors alike) by ``mix_ratio``, the blending
    ratio of the mixed image (0.5 during mixup, 1.0 after ``--no-mixup-epochs`` switched it off).
    This head does the same per image: every sampled anchor of image ``i`` has its
    classification weight and its regression weights multiplied by ``w_i``
    (:func:`image_mix_weights`), while mmdet's normaliser (the number of sampled anchors of the
    batch) is unchanged, so

    - ``loss_rpn_cls = sum_i w_i * sum_{anchors of i} BCE / #sampled anchors``,
    - ``loss_rpn_bbox = sum_i w_i * sum_{positives of i} L1 / #sampled anchors``,

    which for a batch of equal ratios ``w`` is ``w`` times mmdet's loss, as GluonCV's. Without
    a ``mixup_ratio`` in the metainfo, or with all ratios 1, the head runs exactly mmdet's code.

    Per-object weights (``gt_instances.weights``) are not used, as in GluonCV, whose RPN target
    generator reads only the box columns of the label (``gluoncv/data/transforms/presets/
    rcnn.py``, ``FasterRCNNDefaultTrainTransform``). Use it with
    ``mmext.WeightedStandardRoIHead(weighting='image')`` for the whole GluonCV loss.

    Args:
        *args: Positional arguments of ``RPNHead``.
        **kwargs: Keyword arguments of ``RPNHead``.
    """

    def get_targets(
        self,
        anchor_list: List[List[Tensor]],
        valid_flag_list: List[List[Tensor]],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None,
        unmap_outputs: bool = True,
        return_sampling_results: bool = False,
    ) -> tuple:
        """mmdet's anchor targets with each image's weights scaled by its mix ratio.

        Args:
            anchor_list (list[list[Tensor]]): Multi-level anchors of each image.
            valid_flag_list (list[list[Tensor]]): Multi-level valid flags of each image.
            batch_gt_instances (list[InstanceData]): Ground truth per image.
            batch_img_metas (list[dict]): Meta information per image (``mixup_ratio``).
            batch_gt_instances_ignore (list[InstanceData], optional): Ignored boxes per image.
            unmap_outputs (bool): Map the targets back to all anchors. Defaults to True.
            return_sampling_results (bool): Also return the sampling results. Defaults to
                False.

        Returns:
            tuple: As ``AnchorHead.get_targets``; the per-level ``label_weights`` (N, A) and
            ``bbox_weights`` (N, A, 4) are multiplied by the image weights, ``avg_factor`` is
            unchanged.
        """
        targets = super().get_targets(
            anchor_list,
            valid_flag_list,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore,
            unmap_outputs=unmap_outputs,
            return_sampling_results=return_sampling_results,
        )
        weights = image_mix_weights(batch_img_metas)
        if all(w == 1.0 for w in weights):
            return targets
        labels, label_weights, bbox_targets, bbox_weights = targets[:4]
        scale = label_weights[0].new_tensor(weights)  # host -> device copy, no sync

        def scaled(level: Tensor) -> Tensor:
            return level * scale.to(level.dtype).view(-1, *([1] * (level.dim() - 1)))

        label_weights = [scaled(level) for level in label_weights]
        bbox_weights = [scaled(level) for level in bbox_weights]
        return (labels, label_weights, bbox_targets, bbox_weights) + tuple(targets[4:])
