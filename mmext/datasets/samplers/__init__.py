"""mmext's samplers (registered in :data:`mmext.registry.DATA_SAMPLERS`) and class index."""

from .balance_batch_sampler import BalanceBatchSampler
from .class_index import ClassIndex, build_class_index
from .tilted_class_sampler import TiltedClassSampler

__all__ = ['BalanceBatchSampler', 'ClassIndex', 'build_class_index', 'TiltedClassSampler']
