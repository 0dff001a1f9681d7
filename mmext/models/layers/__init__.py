# Each module family registers itself on import; add its import here.
from .gaussian_classifier import GaussianClassifier  # noqa: F401  (ICU loss)
