# Baseline: tiny Faster R-CNN + FPN (narrow ResNet-18) trained from scratch on the offline
# long-tailed digits detection dataset (96x96, train imbalance ratio 10, balanced val),
# evaluated with pycocotools through mmdet's CocoMetric. The dataset is built under
# ./data/digits_det on first use.
_base_ = [
    '../_base_/models/tiny_faster-rcnn_digits.py',
    '../_base_/datasets/digits_det.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/digits_det_1k.py',
]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
randomness = dict(seed=0)
# iteration-based logging and checkpoints (the host's default_runtime is epoch-based),
# written crash-safely by mmext.SafeCheckpointHook
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='mmext.SafeCheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=1
    ),
)
log_processor = dict(by_epoch=False)
