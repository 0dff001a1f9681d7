"""mmext's models: backbones, heads, layers and losses (:data:`mmext.registry.MODELS`)."""

from .backbones import CIFARResNet, LeNetPlusPlus
from .heads import ICUBBoxHead, ICUClsHead, WeightedStandardRoIHead, WeightedYOLOV3Head
from .layers import GaussianClassifier
from .losses import (
    ICULoss,
    LabelSmoothCrossEntropyLoss,
    LGMLoss,
    SegFocalLoss,
    SoftDiceLoss,
    SoftIoULoss,
    TiltedCrossEntropyLoss,
)

__all__ = [
    'CIFARResNet',
    'LeNetPlusPlus',
    'ICUBBoxHead',
    'ICUClsHead',
    'WeightedStandardRoIHead',
    'WeightedYOLOV3Head',
    'GaussianClassifier',
    'ICULoss',
    'LabelSmoothCrossEntropyLoss',
    'LGMLoss',
    'SegFocalLoss',
    'SoftDiceLoss',
    'SoftIoULoss',
    'TiltedCrossEntropyLoss',
]
