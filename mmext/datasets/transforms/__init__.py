"""mmext's data transforms (registered in :data:`mmext.registry.TRANSFORMS`)."""

from .coherent_mixup import CoherentMixUp, KeepInstanceWeights
from .formatting import PackDetInputsWithWeights
from .load_instance_weights import LoadInstanceWeights

__all__ = [
    'CoherentMixUp',
    'KeepInstanceWeights',
    'LoadInstanceWeights',
    'PackDetInputsWithWeights',
]
