# Bag of Freebies, Table 1 "0.5:0.5 evenly": the Table 2 baseline plus visually coherent mixup
# with a fixed blending ratio of 0.5 and the *unweighted* loss (mmdet's YOLOV3Head ignores the
# per-object weights packed with the boxes). The paper does not say which YOLOv3 training setup
# Table 1 starts from; these rows start from the Table 2 baseline so that mixup is the only
# change.
_base_ = './yolov3_d53_baseline_8xb8-200e_voc0712.py'

mixup_ratio = 0.5

train_pipeline = [
    dict(type='mmext.CoherentMixUp', ratio=mixup_ratio),
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
