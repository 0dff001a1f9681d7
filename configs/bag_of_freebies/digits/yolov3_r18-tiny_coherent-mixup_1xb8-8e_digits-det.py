# Bag of Freebies Sec. 3.1 / Table 2 "+ mixup" on the digits baseline: visually coherent
# mixup (Beta(1.5, 1.5), both images at the top-left corner, no resize), per-object loss
# weights packed into gt_instances.weights and honoured by mmext.WeightedYOLOV3Head
# (Table 1 "weighted loss"), mixup switched off for the last epochs (GluonCV: last 20 of 200
# epochs) with mmdet's PipelineSwitchHook.
_base_ = './yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
mixup_alpha = 1.5
mixup_beta = 1.5
mixup_prob = 1.0
max_epochs = 8  # must equal the base's max_epochs
mixup_off_epochs = 1  # GluonCV: 20 of 200 epochs
data_root = 'data/digits_det'  # the digits_det base's dataset settings
canvas_size = 96
# ----------------------------------------------------------------------------------------

# per-image loading (mmext.DigitsCocoDataset) ...
load_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(canvas_size, canvas_size), keep_ratio=True),
]
# ... then mixing in MultiImageMixDataset. Box-dropping transforms (crops, FilterAnnotations)
# placed after the mixup must be wrapped in mmext.KeepInstanceWeights.
mixup_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta, prob=mixup_prob),
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
            build_cfg=dict(canvas_size=canvas_size, digits_per_image=(2, 4), digit_size=(12, 40)),
            filter_cfg=dict(filter_empty_gt=True, min_size=1),
            pipeline=load_pipeline,
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
