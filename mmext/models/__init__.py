"""mmext's models: backbones, heads, layers and losses (:data:`mmext.registry.MODELS`)."""

from .backbones import CIFARResNet, LeNetPlusPlus
from .heads import (
    ICUBBoxHead,
    ICUClsHead,
    ImageWeightedRPNHead,
    WeightedStandardRoIHead,
    WeightedYOLOV3Head,
)
from .layers import GaussianClassifier
from .losses import (
    ClassTrackedCrossEntropyLoss,
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
    'ImageWeightedRPNHead',
    'WeightedStandardRoIHead',
    'WeightedYOLOV3Head',
    'GaussianClassifier',
    'ClassTrackedCrossEntropyLoss',
    'ICULoss',
    'LabelSmoothCrossEntropyLoss',
    'LGMLoss',
    'SegFocalLoss',
    'SoftDiceLoss',
    'SoftIoULoss',
    'TiltedCrossEntropyLoss',
]
