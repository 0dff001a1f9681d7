# All freebies of Table 2 on the digits baseline: coherent mixup with weighted loss (and
# mixup off for the last epochs) + class label smoothing (Eq. 3) + warm-up cosine schedule;
# the deltas of the label-smooth and cosine configs on top of the mixup config.
_base_ = './yolov3_r18-tiny_coherent-mixup_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
label_smooth_val = 0.1  # epsilon of Eq. 3
max_epochs = 8  # must equal the base's max_epochs
warmup_epochs = 1
# ----------------------------------------------------------------------------------------

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=label_smooth_val,
            use_sigmoid=True,
            loss_weight=1.0,
            reduction='sum',
        )
    )
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
