# Each module family registers itself on import; add its import here.
from .safe_checkpoint_hook import SafeCheckpointHook  # noqa: F401
from .tilted_class_hook import TiltedClassHook  # noqa: F401
