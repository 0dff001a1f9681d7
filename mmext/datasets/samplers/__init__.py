# Each module family registers itself on import; add its import here.
from .class_index import ClassIndex, build_class_index  # noqa: F401
from .tilted_class_sampler import TiltedClassSampler  # noqa: F401
from .balance_batch_sampler import BalanceBatchSampler  # noqa: F401
