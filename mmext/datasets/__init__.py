"""mmext's datasets (registered in :data:`mmext.registry.DATASETS`), samplers and transforms."""

from .class_indexed_dataset import ClassIndexedDataset
from .digits import (
    DIGIT_NAMES,
    SEG_CLASSES,
    DigitsClsDataset,
    DigitsCocoDataset,
    DigitsSegDataset,
    build_digits_cls,
    build_digits_det,
    build_digits_seg,
)
from .long_tail import long_tail_counts, long_tail_profile
from .long_tail_subset import LongTailSubset
from .samplers import BalanceBatchSampler, ClassIndex, TiltedClassSampler, build_class_index
from .transforms import (
    CoherentMixUp,
    KeepInstanceWeights,
    LoadInstanceWeights,
    PackDetInputsWithWeights,
)
from .weighted_coco import CocoDatasetWithWeights

__all__ = [
    'ClassIndexedDataset',
    'CocoDatasetWithWeights',
    'DigitsClsDataset',
    'DigitsCocoDataset',
    'DigitsSegDataset',
    'LongTailSubset',
    'BalanceBatchSampler',
    'ClassIndex',
    'TiltedClassSampler',
    'build_class_index',
    'CoherentMixUp',
    'KeepInstanceWeights',
    'LoadInstanceWeights',
    'PackDetInputsWithWeights',
    'SEG_CLASSES',
    'DIGIT_NAMES',
    'build_digits_cls',
    'build_digits_det',
    'build_digits_seg',
    'long_tail_counts',
    'long_tail_profile',
]
