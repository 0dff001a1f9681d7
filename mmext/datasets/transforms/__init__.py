# Each module family registers itself on import; add its import here.
from . import coherent_mixup, formatting  # noqa: F401  (mmext.CoherentMixUp, mmext.PackDetInputsWithWeights)
from . import instance_weights  # noqa: F401  (mmext.LoadInstanceWeights)
