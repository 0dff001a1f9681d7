"""mmext's layers (registered in :data:`mmext.registry.MODELS`)."""

from .gaussian_classifier import GaussianClassifier

__all__ = ['GaussianClassifier']
