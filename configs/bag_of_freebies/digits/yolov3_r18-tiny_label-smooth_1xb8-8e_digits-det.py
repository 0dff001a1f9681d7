# Bag of Freebies Sec. 3.2 / Table 2 "+ class label smoothing" on the digits baseline:
# sigmoid classification targets of the YOLOv3 head smoothed with Eq. 3
# (mmext.LabelSmoothCrossEntropyLoss, upper/lower target limits corrected).
_base_ = './yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
label_smooth_val = 0.1  # epsilon of Eq. 3
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
