"""Per-object loss weights read from the annotations (beyond mixup; mmdet#10870)."""

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmext.registry import TRANSFORMS
from mmext.structures.instance_weights import GT_WEIGHTS_KEY, annotation_weight, read_gt_weights


@TRANSFORMS.register_module()
class LoadInstanceWeights(BaseTransform):
    """Read a per-instance loss weight from the annotations into ``gt_weights``.

    ``gt_weights`` is the path the weighted heads honour (``mmext.PackDetInputsWithWeights``
    packs it into ``gt_instances.weights`` / ``ignored_instances.weights``;
    ``mmext.WeightedYOLOV3Head`` and ``mmext.WeightedStandardRoIHead`` weight each object's
    loss by it). ``results['instances']`` holds the objects in the order mmdet's
    ``LoadAnnotations`` turned them into ``gt_bboxes`` (ignored ones included), so the weights
    line up with the boxes. With COCO json files use ``mmext.CocoDatasetWithWeights``, which
    keeps the field in the instances (mmdet's ``CocoDataset`` drops unknown fields). A later
    ``mmext.CoherentMixUp`` multiplies these weights by the blending ratio.

    Each weight is read by :func:`mmext.structures.instance_weights.annotation_weight`: only a
    number is a weight (a string such as ``"0.5"``, a boolean, ``null`` or a list is a
    ``ValueError``), and it must be finite and >= 0; the error names the image (path and
    ``img_id``), the annotation (its ``ann_id``, which ``CocoDatasetWithWeights`` keeps, else
    its index) and the field. The vector is then validated as ``CoherentMixUp`` and the pack
    step validate it (:func:`mmext.structures.instance_weights.read_gt_weights`: one value
    per box).

    Required Keys:

    - instances (List[dict]): the data info's objects, each optionally with ``key``
    - gt_bboxes (after ``LoadAnnotations``)

    Added Keys:

    - gt_weights (np.float32, shape (N,))

    Args:
        key (str): Field of an instance holding its weight. Defaults to ``'weight'``.
        default (float, optional): Weight of an instance without ``key``; None makes a missing
            weight an error. Defaults to 1.0.
    """

    def __init__(self, key: str = 'weight', default: Optional[float] = 1.0) -> None:
        self.key = key
        self.default = None if default is None else float(default)

    def transform(self, results: dict) -> dict:
        """Add ``gt_weights``.

        Args:
            results (dict): The sample after ``LoadAnnotations``.

        Returns:
            dict: The sample with ``gt_weights``.

        Raises:
            KeyError: if an instance has no ``key`` and ``default`` is None, or the sample has
                no ``instances``.
            ValueError: if a weight is not a number (strings and booleans are not), is
                negative or not finite, or the weights do not match the boxes.
        """
        if 'instances' not in results:
            raise KeyError(
                'LoadInstanceWeights reads results["instances"] (the data info of '
                'an mmdet dataset); got the keys ' + str(sorted(results))
            )
        weights = []
        for i, instance in enumerate(results['instances']):
            if self.key in instance:
                where = _where(results, instance, i)
                weights.append(annotation_weight(instance[self.key], where, self.key))
            elif self.default is None:
                raise KeyError(
                    f'instance {i} of {results.get("img_path", "the sample")} has '
                    f'no {self.key!r} and LoadInstanceWeights(default=None)'
                )
            else:
                weights.append(self.default)
        results[GT_WEIGHTS_KEY] = np.asarray(weights, dtype=np.float32)
        try:
            results[GT_WEIGHTS_KEY] = read_gt_weights(results)
        except ValueError as err:
            raise ValueError(f'{results.get("img_path", "sample")}: {err}') from None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(key={self.key!r}, default={self.default})'


def _where(results: dict, instance: dict, index: int) -> str:
    """``'<img_path> (image id <img_id>), annotation id <ann_id>'``: which annotation it is.

    Args:
        results (dict): The sample.
        instance (dict): One of its ``instances``.
        index (int): The instance's index, named when it carries no ``ann_id``.

    Returns:
        str: The annotation's description for an error message.
    """
    image = str(results.get('img_path', 'sample'))
    if 'img_id' in results:
        image += f' (image id {results["img_id"]})'
    if 'ann_id' in instance:
        return f'{image}, annotation id {instance["ann_id"]}'
    return f'{image}, instance {index} (no ann_id)'
