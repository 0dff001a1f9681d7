# Bag of Freebies, Table 4 "Faster-RCNN R50 Our BoF": + visually coherent mixup (section 3.1),
# lambda ~ Beta(1.5, 1.5), per-object weighted loss in the R-CNN stage. As GluonCV's
# --no-mixup-epochs, mixup is switched off for the last epoch (1 of 12, GluonCV's YOLOv3 uses
# 20 of 200) with mmdet's PipelineSwitchHook. The partner comes from a cache of the last
# `mixup_cached_images` samples of the (shuffled) stream (`use_cached=True`), so the mix runs in
# the CocoDataset's own pipeline: no MultiImageMixDataset, every image is decoded once.
_base_ = './faster-rcnn_r50-fpn_cos-ls_8xb2-1x_coco.py'

mixup_alpha = 1.5
mixup_beta = 1.5
mixup_off_epochs = 1
mixup_cached_images = 20

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='mmext.CoherentMixUp',
        alpha=mixup_alpha,
        beta=mixup_beta,
        use_cached=True,
        max_cached_images=mixup_cached_images,
    ),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmext.PackDetInputsWithWeights'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(roi_head=dict(type='mmext.WeightedStandardRoIHead'))

# mixup off for the last `mixup_off_epochs` epochs: the same pipeline without CoherentMixUp
custom_hooks = [
    dict(
        type='PipelineSwitchHook',
        switch_epoch=_base_.max_epochs - mixup_off_epochs,
        switch_pipeline=train_pipeline[:2] + train_pipeline[3:],
    )
]
