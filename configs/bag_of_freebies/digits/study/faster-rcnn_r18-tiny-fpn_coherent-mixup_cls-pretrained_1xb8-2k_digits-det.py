# Study arm `6 (tiny Faster R-CNN, 2,000 iterations): - pre, + det`
# (tools/studies/freebies_pretrain_frcnn_digits.py, Table 6 "-Mixup backbone, +Mixup
# FRCNN"): ./faster-rcnn_r18-tiny-fpn_cls-pretrained_1xb8-2k_digits-det.py with visually
# coherent mixup, lambda ~ Beta(1.5, 1.5), the per-object weights of
# mmext.WeightedStandardRoIHead (R-CNN stage; the RPN unweighted), on for the whole schedule
# (as ../faster-rcnn_r18-tiny-fpn_coherent-mixup_1xb8-1k_digits-det.py).
_base_ = './faster-rcnn_r18-tiny-fpn_cls-pretrained_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
mixup_alpha = 1.5
mixup_beta = 1.5
# ----------------------------------------------------------------------------------------
load_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
]
train_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta),
    dict(type='Resize', scale=(_base_.canvas_size, _base_.canvas_size), keep_ratio=True),
    dict(type='mmext.PackDetInputsWithWeights'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(_base_.train_dataloader.dataset, pipeline=load_pipeline),
        pipeline=train_pipeline,
    )
)
model = dict(roi_head=dict(type='mmext.WeightedStandardRoIHead'))
