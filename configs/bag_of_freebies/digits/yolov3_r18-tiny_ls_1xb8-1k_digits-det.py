# Digits Bag of Freebies: baseline + class label smoothing (section 3.2), GluonCV's sigmoid
# form: object anchors' class targets clipped to [eps, 1 - eps], eps = min(1 / 10, 1 / 40).
_base_ = './yolov3_r18-tiny_baseline_1xb8-1k_digits-det.py'

label_smooth_val = 0.025

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=label_smooth_val,
            use_sigmoid=True,
            sigmoid_mode='gluoncv',
            loss_weight=1.0,
            reduction='sum')))
