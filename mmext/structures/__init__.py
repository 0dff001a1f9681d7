"""mmext's data contracts (as ``mmdet.structures``): what the fields mmext adds to samples mean.

This package imports only numpy, torch and mmengine: datasets, models and engine import it,
never the other way round.
"""

from .instance_weights import (
    GT_WEIGHTS_KEY,
    INSTANCE_WEIGHTS_FIELD,
    annotation_weight,
    check_instance_weights,
    get_gt_weights,
    num_boxes,
    read_gt_weights,
)

__all__ = [
    'GT_WEIGHTS_KEY',
    'INSTANCE_WEIGHTS_FIELD',
    'annotation_weight',
    'check_instance_weights',
    'get_gt_weights',
    'num_boxes',
    'read_gt_weights',
]
