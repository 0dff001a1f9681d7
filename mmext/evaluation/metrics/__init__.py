# Each module family registers itself on import; add its import here.
from .fair_iou_metric import FairIoUMetric  # noqa: F401
from .shot_accuracy import ShotAccuracy  # noqa: F401
