"""mmext's runner hooks (registered in :data:`mmext.registry.HOOKS`)."""

from .safe_checkpoint_hook import SafeCheckpointHook
from .tilted_class_hook import TiltedClassHook

__all__ = ['SafeCheckpointHook', 'TiltedClassHook']
