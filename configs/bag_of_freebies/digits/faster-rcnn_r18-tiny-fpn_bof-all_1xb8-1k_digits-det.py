# Digits Bag of Freebies: all three freebies together (warmup + cosine, label smoothing,
# weighted coherent mixup): the cosine config plus the deltas of the label-smoothing and
# mixup configs.
_base_ = './faster-rcnn_r18-tiny-fpn_cosine_1xb8-1k_digits-det.py'

label_smooth_val = 0.1
mixup_alpha = 1.5
mixup_beta = 1.5

model = dict(
    roi_head=dict(
        type='mmext.WeightedStandardRoIHead',
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True,
                type='mmext.LabelSmoothCrossEntropyLoss',
                label_smooth_val=label_smooth_val,
                use_sigmoid=False,
                loss_weight=1.0,
            )
        ),
    )
)
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
