"""Reading the per-object mixup loss weights of ground-truth instances."""

from typing import Optional

from mmengine.structures import InstanceData
from torch import Tensor

from mmext.utils.instance_weights import check_instance_weights


def get_gt_weights(gt_instances: InstanceData) -> Optional[Tensor]:
    """Return ``gt_instances.weights`` (per-object loss weights) checked, or None.

    The weights are written by ``mmext.CoherentMixUp`` and packed by
    ``mmext.PackDetInputsWithWeights`` (Bag of Freebies Sec. 3.1, Table 1 "weighted loss").

    Args:
        gt_instances (InstanceData): Ground truth of one image.

    Returns:
        Tensor | None: float weights of shape (num_gts,), or None when the field is absent.

    Raises:
        ValueError: if the weights do not have one entry per box, or hold negative / non-finite
            values (a NaN weight would silently turn the loss into NaN).
    """
    if 'weights' not in gt_instances:
        return None
    weights = gt_instances.weights
    check_instance_weights(weights, len(gt_instances.bboxes), 'gt_instances.weights')
    return weights
