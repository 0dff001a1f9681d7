"""mmext's parameter schedulers (registered in :data:`mmext.registry.PARAM_SCHEDULERS`)."""

from .warmup_cosine import WarmupCosineLR, WarmupCosineMomentum

__all__ = ['WarmupCosineLR', 'WarmupCosineMomentum']
