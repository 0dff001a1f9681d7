# Balance-batch at CPU scale: the tiny DeepLabV3+ of configs/digits on the long-tailed
# digits segmentation data (11 classes: background + digits 0-9, train imbalance ratio 10,
# balanced val), cross-entropy loss, batch size 8, no auxiliary head (so that the Soft Dice
# / Soft IoU runs train with that loss only), GroupNorm in the ASPP head (a Balance-batch
# batch can hold a single image, and BatchNorm after ASPP's image pooling cannot train on
# one 1x1 map; as in the full-scale configs, baselines included), mmext.FairIoUMetric
# (mIoU, fwIoU, mAcc, aAcc and per-class IoU). Shared by the CE leaves and the Soft Dice /
# Soft IoU bases.
_base_ = [
    '../../../_base_/models/tiny_deeplabv3plus_digits.py',
    '../../../_base_/datasets/digits_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../../../_base_/schedules/digits_seg_2k.py',
]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
randomness = dict(seed=0)

# --- tunable ---------------------------------------------------------------------------
head_norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
# ----------------------------------------------------------------------------------------

model = dict(auxiliary_head=None, decode_head=dict(norm_cfg=head_norm_cfg))
val_evaluator = dict(type='mmext.FairIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
