# Bag of Freebies Table 2 "baseline" on the digits: the step-lr tiny YOLOv3 of
# ./yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py (no augmentation: Table 2's
# "- data augmentation" row) plus the random expansion, crop and colour distortion of
# GluonCV's YOLO3DefaultTrainTransform (= mmdet's YOLOv3 train pipeline) without the flip
# (a mirrored digit is another digit). The crop is one random crop of 30-100 % of each side,
# drawn independently (mmdet RandomCrop, 'relative_range' reads crop_size as (min h, min w):
# (0.3, 0.3); an earlier (0.3, 1.0) cropped the height only), instead of the IoU-constrained
# MinIoURandomCrop, whose up-to-50 trials per constraint cost 17.6 ms per 96x96 image (0.14
# CPU-s per batch of 8, more than the tiny model's step); the crop may clip digits at its
# border, as both clip objects on VOC. As GluonCV's transform, the crop is then stretched to
# the full training size (keep_ratio=False), so the augmentation zooms in as well as out.
_base_ = './yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
canvas_size = 96
expand_ratio = (1, 2)  # zoom out: the canvas is pasted into an up to 2x larger black one
crop_range = (0.3, 0.3)  # (min h, min w) of the crop relative to the (expanded) image
# ----------------------------------------------------------------------------------------

aug_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=expand_ratio),
    dict(
        type='RandomCrop',
        crop_type='relative_range',
        crop_size=crop_range,
        allow_negative_crop=False,
    ),
    dict(type='Resize', scale=(canvas_size, canvas_size), keep_ratio=False),
    dict(type='PhotoMetricDistortion'),
]
train_pipeline = aug_pipeline + [dict(type='PackDetInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
