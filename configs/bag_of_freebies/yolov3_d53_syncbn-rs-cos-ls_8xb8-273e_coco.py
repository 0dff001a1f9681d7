# Bag of Freebies (COCO, Table 4 path; Table 5 "-Mixup YOLO3 / -Mixup darknet53"): + class label
# smoothing (section 3.2), GluonCV's sigmoid form: targets of object anchors clipped to
# [eps, 1 - eps] with eps = min(1 / K, 1 / 40) = 1 / 80 on COCO.
_base_ = './yolov3_d53_syncbn-rs-cos_8xb8-273e_coco.py'

label_smooth_val = 0.0125  # min(1 / 80, 1 / 40)

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
