# Study arm `Beta(1.5, 1.5) weighted` (tools/studies/freebies_mixup_digits.py, Table 1,
# row "beta(1.5, 1.5), weighted loss"): the augmented baseline plus visually coherent mixup
# (Sec. 3.1: lambda ~ Beta(1.5, 1.5), each image augmented on its own before the mixing, the
# loss of each object weighted by its image's share, mmext.WeightedYOLOV3Head), off for the
# last 4 of the 48 epochs (GluonCV: the last 20 of 200); the digits row
# ../yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py at Table 2's schedule. Also the "+ det"
# arms of Table 5 (with a pre-trained backbone: *_cls-pretrained_* on top of this leaf).
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
mixup_alpha = 1.5
mixup_beta = 1.5
__mixup_off_epochs = 4
# ----------------------------------------------------------------------------------------
mixup_off_epochs = 1  # the digits row's value (8 epochs), not read: see __mixup_off_epochs
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
model = dict(bbox_head=dict(type='mmext.WeightedYOLOV3Head'))
custom_hooks = [
    dict(
        type='PipelineSwitchHook',
        switch_epoch=_base_.train_cfg.max_epochs - __mixup_off_epochs,
        switch_pipeline=no_mixup_pipeline,
    )
]
