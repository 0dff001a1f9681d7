# Study arm `+ mixup (GluonCV code)` (tools/studies/freebies_frcnn_digits.py, Table 3): the
# authors' code's reading of the + mixup row (GluonCV train_faster_rcnn.py --mixup): a fixed
# even mix, the whole loss of each image (RPN and R-CNN, negatives included) scaled by its
# mix ratio, mixup off for the last 10 % of the iterations. Details:
# ../faster-rcnn_r18-tiny-fpn_bof-all-gluoncv-mixup_1xb8-1k_digits-det.py.
_base_ = './faster-rcnn_r18-tiny-fpn_bof-all_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
mixup_ratio = 0.5  # GluonCV's fixed even mix
mixup_off_ratio = 0.1  # fraction of the iterations at the end without mixup
# ----------------------------------------------------------------------------------------
model = dict(
    rpn_head=dict(type='mmext.ImageWeightedRPNHead'),
    roi_head=dict(weighting='image'),
)
train_pipeline = [
    dict(type='mmext.CoherentMixUp', ratio=mixup_ratio),
    dict(type='Resize', scale=(_base_.canvas_size, _base_.canvas_size), keep_ratio=True),
    dict(type='mmext.PackDetInputsWithWeights'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='mmext.MixupSwitchOffHook', last_ratio=mixup_off_ratio)]
