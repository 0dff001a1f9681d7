"""mmext's losses (registered in :data:`mmext.registry.MODELS`) and their shared contract."""

from .class_tracked_cross_entropy_loss import ClassTrackedCrossEntropyLoss
from .icu_loss import ICULoss
from .label_smooth_cross_entropy_loss import LabelSmoothCrossEntropyLoss
from .lgm_loss import LGMLoss
from .seg_focal_loss import SegFocalLoss
from .soft_overlap_loss import SoftDiceLoss, SoftIoULoss
from .tilted_cross_entropy_loss import TiltedCrossEntropyLoss

__all__ = [
    'ClassTrackedCrossEntropyLoss',
    'ICULoss',
    'LabelSmoothCrossEntropyLoss',
    'LGMLoss',
    'SegFocalLoss',
    'SoftDiceLoss',
    'SoftIoULoss',
    'TiltedCrossEntropyLoss',
]
