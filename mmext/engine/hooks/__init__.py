"""mmext's runner hooks (registered in :data:`mmext.registry.HOOKS`)."""

from .finite_checks import FiniteLossHook, NonFiniteLossError, NonFiniteWeightsError
from .mixup_switch_hook import MixupSwitchOffHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .tilted_class_hook import TiltedClassHook

__all__ = [
    'FiniteLossHook',
    'MixupSwitchOffHook',
    'NonFiniteLossError',
    'NonFiniteWeightsError',
    'SafeCheckpointHook',
    'TiltedClassHook',
]
