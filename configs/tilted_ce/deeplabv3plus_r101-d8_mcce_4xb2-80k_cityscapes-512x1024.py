# TCE paper, Table 1/3 row "MCCE": DeepLabV3+ ResNet-101 trained with the multi-class
# cross-entropy (Eq. 1), i.e. mmseg's config unchanged, evaluated with mmext.FairIoUMetric
# (mmseg's aAcc/mIoU/mAcc plus fwIoU, per-class IoU and the fairness criteria of Table 3).
# Cityscapes (19 classes), total batch 8 (4 GPUs x 2), SGD lr 0.01 momentum 0.9, 80k iterations.
# The per-class table is written to <work_dir>/fair_iou.json after every validation; it is
# the reference that orders the classes in tools/analysis/tce_fairness_report.py.
_base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

# --- tunable ---------------------------------------------------------------------------
fairness_fraction = 0.25  # bottom/top group size and percentile of Table 3
# ----------------------------------------------------------------------------------------

val_evaluator = dict(
    type='mmext.FairIoUMetric', iou_metrics=['mIoU'], fraction=fairness_fraction, dump_json=True
)
test_evaluator = val_evaluator
