# Each module family registers itself on import; add its import here.
from .tilted_class_hook import TiltedClassHook  # noqa: F401
