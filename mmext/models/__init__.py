from . import backbones, heads, layers, losses  # noqa: F401
