"""mmext's evaluation metrics (registered in :data:`mmext.registry.METRICS`)."""

from .class_accuracy_metric import ClassAccuracyMetric
from .fair_coco_metric import FairCocoMetric
from .fair_iou_metric import FairIoUMetric

__all__ = ['ClassAccuracyMetric', 'FairCocoMetric', 'FairIoUMetric']
