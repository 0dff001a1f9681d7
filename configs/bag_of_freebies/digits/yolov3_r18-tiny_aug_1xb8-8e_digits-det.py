# Bag of Freebies Table 2 "baseline" on the digits: the step-lr tiny YOLOv3 of
# ./yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py (no augmentation: Table 2's
# "- data augmentation" row) plus the random expansion, crop and colour distortion of
# GluonCV's YOLO3DefaultTrainTransform (= mmdet's YOLOv3 train pipeline) without the flip
# (a mirrored digit is another digit). The crop may clip digits at its border, as it clips
# objects on VOC.
_base_ = './yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
canvas_size = 96
expand_ratio = (1, 2)  # zoom out: the canvas is pasted into an up to 2x larger black one
min_ious = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
min_crop_size = 0.3
# ----------------------------------------------------------------------------------------

aug_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=expand_ratio),
    dict(type='MinIoURandomCrop', min_ious=min_ious, min_crop_size=min_crop_size),
    dict(type='Resize', scale=(canvas_size, canvas_size), keep_ratio=True),
    dict(type='PhotoMetricDistortion'),
]
train_pipeline = aug_pipeline + [dict(type='PackDetInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
