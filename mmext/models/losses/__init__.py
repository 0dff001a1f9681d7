# Each module family registers itself on import; add its import here.
from .tilted_cross_entropy_loss import TiltedCrossEntropyLoss  # noqa: F401
from .icu_loss import ICULoss  # noqa: F401  (ICU loss)
from .lgm_loss import LGMLoss  # noqa: F401  (L-GM, the ICU paper's Gaussian baseline)
from . import label_smooth_cross_entropy_loss  # noqa: F401  (mmext.LabelSmoothCrossEntropyLoss)
from .soft_overlap_loss import SoftDiceLoss, SoftIoULoss  # noqa: F401  (Balance-batch)
from .seg_focal_loss import SegFocalLoss  # noqa: F401  (TCE paper's Focal baseline, CPU-safe)
