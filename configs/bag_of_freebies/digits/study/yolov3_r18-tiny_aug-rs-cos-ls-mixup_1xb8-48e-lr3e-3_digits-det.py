# Study arm `+ mixup` (tools/studies/freebies_yolo_digits.py, Table 2, stacked): + label
# smoothing with visually coherent mixup (Sec. 3.1: lambda ~ Beta(1.5, 1.5), the loss of
# each object weighted by its image's share, mmext.WeightedYOLOV3Head), off for the last 4
# of the 48 epochs (GluonCV: the last 20 of 200). As in
# ../yolov3_r18-tiny_aug-rs-cos-ls-mixup_1xb8-8e_digits-det.py it is written on the
# augmentation arm (not on + label smoothing), with the random shapes, cosine and label
# smoothing of the rows below it inline.
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
mixup_alpha = 1.5
mixup_beta = 1.5
num_classes = 10
label_smooth_val = min(1.0 / num_classes, 1.0 / 40)
__mixup_off_epochs = 4
# ----------------------------------------------------------------------------------------
mixup_off_epochs = 1  # the digits configs' value (8 epochs), not read: see __mixup_off_epochs
data_root = 'data/digits_det'  # the digits_det base's dataset settings
mixup_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta),
    dict(type='mmext.PackDetInputsWithWeights'),
]
no_mixup_pipeline = [dict(type='mmext.PackDetInputsWithWeights')]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='mmext.DigitsCocoDataset',
            data_root=data_root,
            split='train',
            num_images=1000,
            imbalance_ratio=10.0,
            build_cfg=dict(canvas_size=96, digits_per_image=(2, 4), digit_size=(12, 40)),
            filter_cfg=dict(filter_empty_gt=True, min_size=1),
            pipeline=_base_.aug_pipeline,
        ),
        pipeline=mixup_pipeline,
    )
)
model = dict(
    data_preprocessor=dict(
        batch_augments=[
            dict(
                type='BatchSyncRandomResize',
                random_size_range=(64, 160),
                size_divisor=32,
                interval=10,
            )
        ]
    ),
    bbox_head=dict(
        type='mmext.WeightedYOLOV3Head',
        loss_cls=dict(
            _delete_=True,
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=label_smooth_val,
            use_sigmoid=True,
            sigmoid_mode='gluoncv',
            loss_weight=1.0,
            reduction='sum',
        ),
    ),
)
param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=_base_.param_scheduler[0].end,
        begin=0,
        end=_base_.train_cfg.max_epochs,
        warmup_start_factor=0.01,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
custom_hooks = [
    dict(
        type='PipelineSwitchHook',
        switch_epoch=_base_.train_cfg.max_epochs - __mixup_off_epochs,
        switch_pipeline=no_mixup_pipeline,
    )
]
