# Each module family registers itself on import; add its import here.
from .fair_iou_metric import FairIoUMetric  # noqa: F401
from .class_accuracy_metric import ClassAccuracyMetric  # noqa: F401  (per-class / shot-group accuracy)
