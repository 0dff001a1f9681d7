# Offline counterpart of the "MCCE" row: the tiny DeepLabV3+ on the long-tailed digits
# segmentation data (train imbalance ratio 10, balanced val) with plain CE, evaluated with
# mmext.FairIoUMetric (per-class table in <work_dir>/fair_iou.json). Used by
# tools/studies/tce_digits.py.
_base_ = ['../../digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

val_evaluator = dict(type='mmext.FairIoUMetric', iou_metrics=['mIoU'], dump_json=True)
test_evaluator = val_evaluator
