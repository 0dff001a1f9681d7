# Each module family registers itself on import; add its import here.
from . import weighted_roi_head, weighted_yolov3_head  # noqa: F401  (mixup-weighted heads)
from . import icu_bbox_head, icu_cls_head  # noqa: F401  (ICU loss)
