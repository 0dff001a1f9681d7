from . import samplers, transforms  # noqa: F401
from .digits_builders import (SEG_CLASSES, build_digits_cls,  # noqa: F401
                              build_digits_det, build_digits_seg)
from .digits_common import DIGIT_NAMES, long_tail_profile  # noqa: F401
from .digits_datasets import (DigitsClsDataset,  # noqa: F401  (registration)
                              DigitsCocoDataset, DigitsSegDataset)
from .class_indexed_dataset import ClassIndexedDataset  # noqa: F401  (get_cat_ids for seg)
from .weighted_coco import CocoDatasetWithWeights  # noqa: F401  (per-object weights)
from .long_tail_subset import LongTailSubset  # noqa: F401  (ICU loss, long-tailed CIFAR)
