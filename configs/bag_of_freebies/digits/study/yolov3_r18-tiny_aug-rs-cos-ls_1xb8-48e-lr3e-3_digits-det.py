# Study arm `+ label smoothing` (tools/studies/freebies_yolo_digits.py, Table 2, stacked):
# + cosine with class label smoothing on the sigmoid classifier as GluonCV's YOLOv3 does it
# (eps = min(1/K, 1/40) = 0.025; mmext.LabelSmoothCrossEntropyLoss, sigmoid_mode='gluoncv').
_base_ = './yolov3_r18-tiny_aug-rs-cos_1xb8-48e-lr3e-3_digits-det.py'
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
