# Bag of Freebies Table 2 "+ mixup" on the digits (the whole stack): augmentation, random
# shapes, cosine, GluonCV-style class label smoothing and weighted coherent mixup
# (Beta(1.5, 1.5), off for the last epoch(s)). The mixup data of
# ./yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py plus the deltas of the -rs, -cos and -ls
# configs.
_base_ = './yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
max_epochs = 8  # must equal the base's max_epochs
warmup_epochs = 1
num_classes = 10
label_smooth_val = min(1.0 / num_classes, 1.0 / 40)
# ----------------------------------------------------------------------------------------

model = dict(
    data_preprocessor=dict(
        batch_augments=[
            dict(
                type='BatchSyncRandomResize',
                random_size_range=(64, 160),
                size_divisor=32,
                interval=10,
            )
        ]
    ),
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=label_smooth_val,
            use_sigmoid=True,
            sigmoid_mode='gluoncv',
            loss_weight=1.0,
            reduction='sum',
        )
    ),
)
param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=warmup_epochs,
        begin=0,
        end=max_epochs,
        warmup_start_factor=0.01,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
