"""A COCO dataset that keeps per-annotation fields (e.g. a loss ``weight``) in its instances."""

from typing import List, Sequence, Union

from mmdet.datasets import CocoDataset

from mmext.registry import DATASETS


@DATASETS.register_module()
class CocoDatasetWithWeights(CocoDataset):
    """mmdet's ``CocoDataset`` whose instances also carry chosen fields of their annotation.

    mmdet's ``CocoDataset.parse_data_info`` builds each instance from ``bbox``, ``category_id``,
    ``iscrowd`` and ``segmentation`` only, so any other field of a COCO annotation (such as a
    per-object loss ``weight``, mmdet#10870) is lost before the pipeline runs. This subclass
    parses every annotation with the upstream method (same filters: ``ignore``, empty or
    out-of-image boxes, unknown categories) and copies ``instance_keys`` of the annotations it
    keeps into their instances, where ``mmext.LoadInstanceWeights`` reads them, with the
    annotation's ``id`` as ``ann_id`` (so that an invalid weight names its annotation).

    Args:
        instance_keys (Sequence[str]): Annotation fields copied into the instances.
            Defaults to ``('weight',)``.
        **kwargs: ``CocoDataset`` arguments.
    """

    def __init__(self, *args, instance_keys: Sequence[str] = ('weight',), **kwargs) -> None:
        self.instance_keys = tuple(instance_keys)
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Upstream parsing, plus ``instance_keys`` of each kept annotation.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info`` of one image.

        Returns:
            dict: The data info, instances in annotation order, each with the ``ann_id`` of
            its annotation.
        """
        anns = raw_data_info['raw_ann_info']
        info = super().parse_data_info(dict(raw_data_info, raw_ann_info=[]))
        instances = []
        for ann in anns:  # one annotation at a time: the upstream filters decide what stays
            kept = super().parse_data_info(dict(raw_data_info, raw_ann_info=[ann]))['instances']
            for instance in kept:
                instance.update({k: ann[k] for k in self.instance_keys if k in ann})
                if 'id' in ann:
                    instance['ann_id'] = ann['id']
                instances.append(instance)
        info['instances'] = instances
        return info
