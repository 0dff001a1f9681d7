"""mmext's data transforms (registered in :data:`mmext.registry.TRANSFORMS`)."""
from .coherent_mixup import CoherentMixUp, KeepInstanceWeights
from .formatting import PackDetInputsWithWeights

__all__ = ['CoherentMixUp', 'KeepInstanceWeights', 'PackDetInputsWithWeights']
