"""mmext's evaluation metrics (registered in :data:`mmext.registry.METRICS`)."""
from .fair_iou_metric import FairIoUMetric

__all__ = ['FairIoUMetric']
