# Bag of Freebies, Table 1 "beta(1.0, 1.0), weighted loss": the blending ratio is drawn from
# Beta(1, 1) (uniform) and every object's loss is weighted by the ratio of the image it comes
# from (mmext.WeightedYOLOV3Head).
_base_ = './yolov3_d53_mixup-even_8xb8-200e_voc0712.py'

mixup_alpha = 1.0
mixup_beta = 1.0

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
model = dict(bbox_head=dict(type='mmext.WeightedYOLOV3Head'))
