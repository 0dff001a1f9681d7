# Bag of Freebies (COCO, Table 4 path): + random training shapes (section 3.6). The per-image
# multi-scale resize of mmdet's config is replaced by a fixed 416 x 416 resize, and every 10
# iterations the whole batch is resized to a random square in {320, 352, ..., 608}.
_base_ = './yolov3_d53_syncbn_8xb8-273e_coco.py'

random_size_range = (320, 608)
random_size_interval = 10

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
    dict(type='MinIoURandomCrop', min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=_base_.input_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=dict(
        batch_augments=[
            dict(
                type='BatchSyncRandomResize',
                random_size_range=random_size_range,
                interval=random_size_interval,
                size_divisor=32,
            )
        ]
    )
)
