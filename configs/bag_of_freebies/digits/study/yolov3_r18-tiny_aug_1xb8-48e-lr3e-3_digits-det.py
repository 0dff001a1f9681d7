# Study arm `baseline` (tools/studies/freebies_yolo_digits.py, Table 2): the tiny YOLOv3
# with GluonCV's YOLOv3 augmentation minus flips (zoom-out Expand, RandomCrop, Resize back,
# PhotoMetricDistortion); details: ../yolov3_r18-tiny_aug_1xb8-8e_digits-det.py.
_base_ = './yolov3_r18-tiny_baseline_1xb8-48e-lr3e-3_digits-det.py'
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
