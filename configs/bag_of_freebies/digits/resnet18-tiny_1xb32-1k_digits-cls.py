# Bag of Freebies Tables 5/6 on the digits: pre-training the detectors' backbone on the digits
# classification data (mmpretrain), without mixup. The backbone is exactly the detectors'
# (ResNet-18, 7x7 stem + max-pool, stem and stage width 16, no pretrained weights), so its
# `backbone.*` weights load into the tiny YOLOv3 / Faster R-CNN with
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.'). The 28x28 digits are
# upscaled to 56x56 (digits of ~40 px, the upper end of the detection digits' 12-40 px) and
# normalised as the tiny YOLOv3 normalises its input (x / 255, RGB). The checkpoints are
# written by tools/studies/pretrain_digits_backbones.py.
_base_ = [
    '../../_base_/datasets/digits_cls.py',
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/schedules/digits_cls_1k.py',
]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
width = 16  # the detectors' backbone width
input_size = 56
# ----------------------------------------------------------------------------------------

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=width,
        base_channels=width,
        num_stages=4,
        out_indices=(3,),
        style='pytorch',
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=8 * width,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ),
)
data_preprocessor = dict(
    num_classes=10, mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], to_rgb=True
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),  # the digits config's augmentation
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='mmext.SafeCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1
    ),
)
log_processor = dict(by_epoch=False)
