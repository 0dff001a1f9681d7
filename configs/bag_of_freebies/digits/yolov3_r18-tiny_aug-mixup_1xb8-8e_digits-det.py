# Bag of Freebies Table 1 on the digits: the augmented baseline (Table 2 "baseline") plus
# visually coherent mixup, lambda ~ Beta(1.5, 1.5), per-object loss weights
# (mmext.WeightedYOLOV3Head, "weighted loss"), mixup off for the last epoch(s). Each image is
# augmented on its own before the mixing. Table 1's other rows (study leaves at Table 2's
# schedule): Beta(1, 1), train_dataloader.dataset.pipeline.0.alpha/beta=1.0
# (./study/yolov3_r18-tiny_aug-mixup-beta1-weighted_1xb8-48e-lr3e-3_digits-det.py); "0.5:0.5
# evenly", train_dataloader.dataset.pipeline.0.ratio=0.5 with model.bbox_head.type=YOLOV3Head
# (no weights; ./study/yolov3_r18-tiny_aug-mixup-even_1xb8-48e-lr3e-3_digits-det.py).
_base_ = './yolov3_r18-tiny_aug_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
mixup_alpha = 1.5
mixup_beta = 1.5
max_epochs = 8  # must equal the base's max_epochs
mixup_off_epochs = 1  # GluonCV: the last 20 of 200 epochs
data_root = 'data/digits_det'  # the digits_det base's dataset settings
# ----------------------------------------------------------------------------------------

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
        switch_epoch=max_epochs - mixup_off_epochs,
        switch_pipeline=no_mixup_pipeline,
    )
]
