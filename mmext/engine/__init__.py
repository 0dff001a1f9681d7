"""mmext's engine parts: hooks, optimizer wrappers and parameter schedulers."""

from .hooks import FiniteLossHook, MixupSwitchOffHook, SafeCheckpointHook, TiltedClassHook
from .optimizers import CPUAutocastOptimWrapper
from .schedulers import WarmupCosineLR, WarmupCosineMomentum

__all__ = [
    'FiniteLossHook',
    'MixupSwitchOffHook',
    'SafeCheckpointHook',
    'TiltedClassHook',
    'CPUAutocastOptimWrapper',
    'WarmupCosineLR',
    'WarmupCosineMomentum',
]
