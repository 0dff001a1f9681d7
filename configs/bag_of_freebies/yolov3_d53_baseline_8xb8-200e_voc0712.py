# Bag of Freebies, Table 2 "baseline": YOLOv3 (Darknet-53) on Pascal VOC 07+12, trained and
# evaluated at a fixed 416 x 416 (section 4), BatchNorm per GPU, step learning rate with
# warmup (GluonCV yolo3_darknet53_voc: 200 epochs, batch 8 x 8, lr 1e-3, 4 warmup epochs,
# decay x0.1 at epochs 160 and 180), full YOLO data augmentation (section 3.3).
# mmdet ships no YOLOv3 VOC config: model/optimizer come from the COCO config, the dataset
# settings from mmdet::_base_/datasets/voc0712.py (07+12 trainval, 07 test, 11-point mAP).
_base_ = 'mmdet::yolo/yolov3_d53_8xb8-ms-416-273e_coco.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# ---- tunable -------------------------------------------------------------------------------
data_root = 'data/VOCdevkit/'
num_classes = 20
input_size = (416, 416)  # (w, h), square as in GluonCV (no aspect-ratio keeping)
max_epochs = 200
warmup_epochs = 4
lr_steps = [160, 180]
# ---------------------------------------------------------------------------------------------

dataset_type = 'VOCDataset'
backend_args = None
model = dict(bbox_head=dict(num_classes=num_classes))

# Loading runs inside the VOC datasets; augmentation runs in the MultiImageMixDataset
# wrapper, which is a pass-through without a mixing transform and lets the "+ mixup" rows
# change only `train_dataloader.dataset.pipeline`.
load_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
]
train_pipeline = [
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
    dict(type='MinIoURandomCrop', min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=input_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=input_size, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='ConcatDataset',
            # VOCDataset adds `dataset_type` to its metainfo, which ConcatDataset would
            # reject as inconsistent between VOC2007 and VOC2012
            ignore_keys=['dataset_type'],
            datasets=[
                dict(
                    type=dataset_type,
                    data_root=data_root,
                    ann_file='VOC2007/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root='VOC2007/'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=32),
                    pipeline=load_pipeline,
                    backend_args=backend_args,
                ),
                dict(
                    type=dataset_type,
                    data_root=data_root,
                    ann_file='VOC2012/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root='VOC2012/'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=32),
                    pipeline=load_pipeline,
                    backend_args=backend_args,
                ),
            ],
        ),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    )
)
test_dataloader = val_dataloader
# VOC2007 test is evaluated with the 11-point mAP@0.5 of the VOC devkit (paper, section 4)
val_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook', interval=10))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        begin=0,
        end=warmup_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
    dict(type='MultiStepLR', by_epoch=True, milestones=lr_steps, gamma=0.1),
]
