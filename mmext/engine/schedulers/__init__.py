# Each module family registers itself on import; add its import here.
from . import warmup_cosine  # noqa: F401  (mmext.WarmupCosineLR, mmext.WarmupCosineMomentum)
