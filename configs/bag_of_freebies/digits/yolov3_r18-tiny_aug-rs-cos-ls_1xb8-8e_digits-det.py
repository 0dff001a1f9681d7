# Bag of Freebies Table 2 "+ class label smoothing" on the digits (stacked): random shapes,
# cosine, and the sigmoid class targets smoothed the authors' way (Sec. 3.2: "correcting the
# upper and lower limit of the range of targets"; GluonCV's YOLOV3TargetMerger: positives
# 1 - eps, negatives eps, eps = min(1 / K, 1 / 40), 0.025 for the K = 10 digits).
_base_ = './yolov3_r18-tiny_aug-rs-cos_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
num_classes = 10
label_smooth_val = min(1.0 / num_classes, 1.0 / 40)
# ----------------------------------------------------------------------------------------

model = dict(
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
    )
)
