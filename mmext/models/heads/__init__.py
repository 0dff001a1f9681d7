"""mmext's heads (registered in :data:`mmext.registry.MODELS`)."""

from .icu_bbox_head import ICUBBoxHead
from .icu_cls_head import ICUClsHead
from .weighted_roi_head import WeightedStandardRoIHead
from .weighted_rpn_head import ImageWeightedRPNHead
from .weighted_yolov3_head import WeightedYOLOV3Head

__all__ = [
    'ICUBBoxHead',
    'ICUClsHead',
    'ImageWeightedRPNHead',
    'WeightedStandardRoIHead',
    'WeightedYOLOV3Head',
]
