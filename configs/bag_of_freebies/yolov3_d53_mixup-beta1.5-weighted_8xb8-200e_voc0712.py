# Bag of Freebies, Table 1 "beta(1.5, 1.5), weighted loss": as the Beta(1, 1) row with
# lambda ~ Beta(1.5, 1.5), the distribution the paper keeps for the bag of freebies.
_base_ = './yolov3_d53_mixup-beta1-weighted_8xb8-200e_voc0712.py'

mixup_alpha = 1.5
mixup_beta = 1.5

train_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta, ratio=None),
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
    dict(
        type='mmext.KeepInstanceWeights',
        transforms=[
            dict(
                type='MinIoURandomCrop', min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9), min_crop_size=0.3
            )
        ],
    ),
    dict(type='Resize', scale=_base_.input_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='mmext.PackDetInputsWithWeights'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
