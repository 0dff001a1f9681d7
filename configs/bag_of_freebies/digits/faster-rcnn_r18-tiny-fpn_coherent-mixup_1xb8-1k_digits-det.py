# Digits Bag of Freebies: baseline + visually coherent mixup (section 3.1), lambda ~
# Beta(1.5, 1.5), per-object weighted loss in the R-CNN stage (mmext.WeightedStandardRoIHead).
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-1k_digits-det.py'

mixup_alpha = 1.5
mixup_beta = 1.5

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
