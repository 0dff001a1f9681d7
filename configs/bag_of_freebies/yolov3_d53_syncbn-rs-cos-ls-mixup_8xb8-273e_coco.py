# Bag of Freebies, Table 4 "YOLOv3 Our BoF" (Table 5 "+Mixup YOLO3 / -Mixup darknet53"):
# + visually coherent mixup, lambda ~ Beta(1.5, 1.5), per-object weighted loss (section 3.1).
# Images are loaded by the COCO dataset, mixed by the MultiImageMixDataset wrapper and then
# augmented (GluonCV order); the box-dropping crop keeps the object weights aligned.
_base_ = './yolov3_d53_syncbn-rs-cos-ls_8xb8-273e_coco.py'

mixup_alpha = 1.5
mixup_beta = 1.5
mixup_off_epochs = 20  # GluonCV train_yolo3.py --no-mixup-epochs 20

load_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
]
train_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta),
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
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(_base_.train_dataloader.dataset, pipeline=load_pipeline),
        pipeline=train_pipeline,
    )
)
model = dict(bbox_head=dict(type='mmext.WeightedYOLOV3Head'))

# mixup off for the last `mixup_off_epochs` epochs (mmdet's PipelineSwitchHook): the same
# augmentation without the CoherentMixUp step
custom_hooks = [
    dict(
        type='PipelineSwitchHook',
        switch_epoch=_base_.max_epochs - mixup_off_epochs,
        switch_pipeline=train_pipeline[1:],
    )
]
